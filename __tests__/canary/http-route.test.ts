/**
 * packages/shared/src/kube/http-route.ts and the router inputs, from source: the JSON patches a
 * weighted canary, its abort and its promotion send, on a route with a second rule, a filter and a
 * backend of another Service; and every bad router input reported at once.
 */
import { describe, expect, test } from '@jest/globals';
import { loadActionMetadata } from '@veloz/harness';
import { readInputs } from '@veloz/shared/inputs';
import { parseTrafficWeight } from '@veloz/shared/parse';
import {
  blueWeights,
  patched,
  removalPatch,
  weightPatch,
  zeroGreenPatch,
  type HttpRoute,
} from '@veloz/shared/kube/http-route';
import { parseCanaryInputs } from '../../actions/canary/src/inputs';

const SERVICES = { blue: 'veloz-engine', green: 'veloz-engine-green' };
const route = (): HttpRoute => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'web', namespace: 'veloz', resourceVersion: '42', generation: 3 },
  spec: {
    parentRefs: [{ name: 'edge' }],
    rules: [
      {
        matches: [{ path: { type: 'PathPrefix', value: '/' } }],
        backendRefs: [{ group: '', kind: 'Service', name: 'veloz-engine', port: 8080, weight: 1 }],
      },
      {
        matches: [{ path: { type: 'PathPrefix', value: '/admin' } }],
        filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X', value: 'a' }] } }],
        backendRefs: [{ name: 'veloz-engine', port: 8080 }],
      },
      // a rule to another Service: never touched
      {
        matches: [{ path: { type: 'PathPrefix', value: '/docs' } }],
        backendRefs: [{ name: 'docs', port: 80, weight: 3 }],
      },
    ],
  },
});

describe('weightPatch', () => {
  test('blue 95 / green 5 in every rule to blue; the filter, the other rule and every other field as they were', () => {
    const before = route();
    const ops = weightPatch(before, SERVICES, { blue: 95, green: 5 });
    // the generation, not the resourceVersion: the gateway's status writes move that all the time
    expect(ops[0]).toEqual({ op: 'test', path: '/metadata/generation', value: 3 });
    // only weights and the added green refs: no path outside rules 0 and 1's backendRefs
    for (const op of ops.slice(1)) expect(op.path).toMatch(/^\/spec\/rules\/[01]\/backendRefs\//);
    const after = patched(before, ops);
    expect(after.spec?.rules?.[0]?.backendRefs).toEqual([
      { group: '', kind: 'Service', name: 'veloz-engine', port: 8080, weight: 95 },
      { name: 'veloz-engine-green', port: 8080, weight: 5 },
    ]);
    expect(after.spec?.rules?.[1]?.backendRefs).toEqual([
      { name: 'veloz-engine', port: 8080, weight: 95 },
      { name: 'veloz-engine-green', port: 8080, weight: 5 },
    ]);
    expect(after.spec?.rules?.[1]?.filters).toEqual(before.spec?.rules?.[1]?.filters);
    expect(after.spec?.rules?.[1]?.matches).toEqual(before.spec?.rules?.[1]?.matches);
    expect(after.spec?.rules?.[2]).toEqual(before.spec?.rules?.[2]);
    expect(after.spec?.parentRefs).toEqual(before.spec?.parentRefs);
  });

  test('a route that already says so needs no write', () => {
    const once = patched(route(), weightPatch(route(), SERVICES, { blue: 95, green: 5 }));
    expect(weightPatch(once, SERVICES, { blue: 95, green: 5 })).toEqual([]);
    // another weight changes only the two weights of each rule
    const ops = weightPatch(once, SERVICES, { blue: 90, green: 10 });
    expect(ops.filter((o) => o.op === 'replace').map((o) => o.path)).toEqual([
      '/spec/rules/0/backendRefs/0/weight',
      '/spec/rules/0/backendRefs/1/weight',
      '/spec/rules/1/backendRefs/0/weight',
      '/spec/rules/1/backendRefs/1/weight',
    ]);
  });

  test('the test preconditions refuse a route whose backendRefs moved since it was read', () => {
    const ops = weightPatch(route(), SERVICES, { blue: 95, green: 5 });
    const edited = route();
    edited.spec!.rules![0]!.backendRefs!.unshift({ name: 'docs', port: 80 });
    expect(() => patched(edited, ops)).toThrow(/test failed at \/spec\/rules\/0\/backendRefs\/0\/name/);
  });

  test('a backendRef in another namespace or of another kind is not blue', () => {
    const r = route();
    r.spec!.rules = [
      {
        backendRefs: [
          { name: 'veloz-engine', namespace: 'other' },
          { name: 'veloz-engine', kind: 'ServiceImport', group: 'multicluster.x-k8s.io' },
        ],
      },
    ];
    expect(weightPatch(r, SERVICES, { blue: 95, green: 5 })).toEqual([]);
  });
});

describe('abort and promotion', () => {
  test("abort: green's weight 0 first, touching nothing else; then green gone and the route exactly as before", () => {
    const before = route();
    const original = blueWeights(before, SERVICES.blue);
    expect(original).toEqual({ '0': 1, '1': null });
    const canary = patched(before, weightPatch(before, SERVICES, { blue: 95, green: 5 }));
    const zeroOps = zeroGreenPatch(canary, SERVICES.green);
    for (const op of zeroOps.slice(1)) expect(op.path).toMatch(/^\/spec\/rules\/[01]\/backendRefs\/1\/(weight|name)$/);
    const zeroed = patched(canary, zeroOps);
    expect(zeroed.spec?.rules?.map((r) => r.backendRefs?.map((b) => b.weight))).toEqual([[95, 0], [95, 0], [3]]);
    const restored = patched(zeroed, removalPatch(zeroed, SERVICES, original));
    expect(restored).toEqual(before);
    expect(removalPatch(restored, SERVICES, original)).toEqual([]);
  });
});

describe('parseTrafficWeight', () => {
  test.each([
    ['5%', 5],
    [' 99% ', 99],
    ['1%', 1],
  ])('%s -> %d', (text, n) => expect(parseTrafficWeight(text)).toBe(n));
  test.each(['0%', '100%', '5', '2.5%', '0.05', 'five'])('%s is refused', (text) => {
    expect(() => parseTrafficWeight(text)).toThrow('a whole percentage between 1% and 99%, such as 5%');
  });
});

describe('router inputs', () => {
  const read = async (values: Record<string, string>) => {
    const meta = await loadActionMetadata('canary');
    const all: Record<string, string> = { kubeconfig: 'in-cluster', phase: 'canary', version: '1.1.0', chart: './c' };
    for (const [name, input] of Object.entries(meta.inputs))
      if (input.default !== undefined) all[name] ??= input.default;
    Object.assign(all, values);
    return readInputs(parseCanaryInputs, (name) => all[name] ?? '');
  };

  test('defaults: no router, drain-timeout 30s', async () => {
    const { settings } = await read({});
    expect(settings?.router).toBeUndefined();
    expect(settings?.drainTimeoutMs).toBe(30_000);
  });

  test('gateway-api with a route and a weight', async () => {
    const { settings, errors } = await read({
      'traffic-router': 'gateway-api',
      'http-route': 'web',
      'canary-weight': '10%',
    });
    expect(errors).toEqual([]);
    expect(settings?.router).toEqual({ kind: 'gateway-api', httpRoute: 'web', weight: 10 });
  });

  test('every bad router input at once, each naming input, value and expectation', async () => {
    const { errors } = await read({ 'traffic-router': 'gateway-api', 'canary-weight': '0%', 'drain-timeout': 'soon' });
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/Input 'canary-weight'.*0%.*a whole percentage between 1% and 99%/),
      expect.stringMatching(
        /Input 'http-route'.*an HTTPRoute name in the release namespace because traffic-router is gateway-api/,
      ),
      expect.stringMatching(/Input 'drain-timeout'.*soon.*a duration such as/),
    ]);
  });

  test('a bad router name, and gateway-api with in-place', async () => {
    expect((await read({ 'traffic-router': 'istio' })).errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/Input 'traffic-router'.*istio.*none.*gateway-api/),
    ]);
    const inPlace = await read({ strategy: 'in-place', 'traffic-router': 'gateway-api', 'http-route': 'web' });
    expect(inPlace.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/Input 'traffic-router'.*gateway-api.*none with strategy in-place/),
    ]);
  });
});
