import { describe, expect, test } from '@jest/globals';
import type { KubeObject } from '@veloz/sandbox';
import {
  backendRefsOf,
  matchRule,
  modifyRequestHeaders,
  pickBackend,
  type RequestFacts,
} from '@veloz/sandbox/gateway/routing';

const req = (path: string, headers: Record<string, string> = {}, method = 'GET'): RequestFacts => ({
  method,
  path,
  query: new URLSearchParams(),
  headers,
});

const route = (name: string, rules: unknown[], createdAt = '2026-01-01T00:00:00Z'): KubeObject => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name, namespace: 'veloz', creationTimestamp: createdAt },
  spec: { rules },
});

const prefix = (value: string) => ({ path: { type: 'PathPrefix', value } });

describe('rule precedence', () => {
  const web = route('web', [
    { matches: [prefix('/')], backendRefs: [{ name: 'root' }] },
    { matches: [prefix('/admin')], backendRefs: [{ name: 'admin' }] },
    { matches: [{ path: { type: 'Exact', value: '/admin/health' } }], backendRefs: [{ name: 'exact' }] },
    { matches: [{ ...prefix('/'), headers: [{ name: 'X-Canary', value: 'yes' }] }], backendRefs: [{ name: 'hdr' }] },
  ]);
  const hit = (r: RequestFacts, routes = [web]) => matchRule(routes, r)?.ruleIndex;

  test('the longest matching prefix wins over the rule order; Exact beats any prefix', () => {
    expect(hit(req('/api/market'))).toBe(0);
    expect(hit(req('/admin'))).toBe(1);
    expect(hit(req('/admin/users'))).toBe(1);
    expect(hit(req('/admin/health'))).toBe(2);
  });

  test('a prefix matches whole path elements only', () => {
    expect(hit(req('/administrator'))).toBe(0);
  });

  test('header matches narrow a rule and, when they hold, outrank an equal path', () => {
    expect(hit(req('/api/x', { 'x-canary': 'yes' }))).toBe(3);
    expect(hit(req('/api/x', { 'x-canary': 'no' }))).toBe(0);
  });

  test('ties across routes go to the oldest route', () => {
    const older = route('zz-old', [{ matches: [prefix('/')] }], '2025-01-01T00:00:00Z');
    expect(matchRule([web, older], req('/x'))?.route.metadata.name).toBe('zz-old');
  });

  test('no match: undefined', () => {
    expect(matchRule([route('only', [{ matches: [prefix('/admin')] }])], req('/api'))).toBeUndefined();
  });
});

describe('backend weights', () => {
  const refs = backendRefsOf(
    {
      backendRefs: [
        { name: 'blue', weight: 95 },
        { name: 'green', weight: 5 },
        { name: 'off', weight: 0 },
      ],
    },
    'veloz',
  );

  test('a draw in [0,1) splits by weight; weight 0 is never chosen', () => {
    const picks = new Map<string, number>();
    for (let i = 0; i < 1000; i++) {
      const name = pickBackend(refs, () => i / 1000)?.name ?? '';
      picks.set(name, (picks.get(name) ?? 0) + 1);
    }
    expect(Object.fromEntries(picks)).toEqual({ blue: 950, green: 50 });
  });

  test('defaults: weight 1, kind Service, the route namespace; all zero: no backend', () => {
    expect(backendRefsOf({ backendRefs: [{ name: 'a', port: 80 }] }, 'ns')).toEqual([
      { group: '', kind: 'Service', name: 'a', namespace: 'ns', port: 80, weight: 1 },
    ]);
    expect(pickBackend(backendRefsOf({ backendRefs: [{ name: 'a', weight: 0 }] }, 'ns'))).toBeUndefined();
  });
});

test('RequestHeaderModifier sets, adds and removes request headers', () => {
  const rule = {
    filters: [
      {
        type: 'RequestHeaderModifier',
        requestHeaderModifier: {
          set: [{ name: 'X-Veloz-Route', value: 'admin' }],
          add: [{ name: 'X-Trace', value: 'gw' }],
          remove: ['X-Drop'],
        },
      },
    ],
  };
  expect(modifyRequestHeaders(rule, { 'x-veloz-route': 'old', 'x-trace': 'client', 'x-drop': '1', a: 'b' })).toEqual({
    'x-veloz-route': 'admin',
    'x-trace': 'client,gw',
    a: 'b',
  });
});
