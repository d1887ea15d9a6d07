import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFleet } from '@veloz/harness';
import type { ToolName } from '@veloz/sandbox';
import { CHART, eventually, startTestCluster, type TestCluster } from './support';

/** The Gateway API kinds served like their CRDs: real kubectl and helm create, patch, apply and watch them. */

interface Route {
  metadata: { name: string; managedFields?: { manager: string; operation: string; fieldsV1?: unknown }[] };
  spec: {
    parentRefs: Record<string, unknown>[];
    rules: { matches?: unknown[]; filters?: unknown[]; backendRefs?: Record<string, unknown>[] }[];
  };
  status?: { parents?: unknown[] };
}

const GW = 'gateway.networking.k8s.io';

type Managed = { manager: string; fieldsV1?: unknown };

const gateway = (name: string): Record<string, unknown> => ({
  apiVersion: `${GW}/v1`,
  kind: 'Gateway',
  metadata: { name },
  spec: { gatewayClassName: 'veloz-sandbox', listeners: [{ name: 'http', protocol: 'HTTP', port: 80 }] },
});

const route = (name: string, backends: { name: string; weight?: number }[], extraRule?: unknown) => ({
  apiVersion: `${GW}/v1`,
  kind: 'HTTPRoute',
  metadata: { name },
  spec: {
    parentRefs: [{ name: 'edge' }],
    rules: [
      {
        matches: [{ path: { type: 'PathPrefix', value: '/' } }],
        backendRefs: backends.map((b) => ({ ...b, port: 8080 })),
      },
      ...(extraRule ? [extraRule] : []),
    ],
  },
});

/** A short request stream through the chart's Gateway: every answer from a veloz-engine pod of 1.0.0. */
async function servedThroughGateway(c: TestCluster): Promise<void> {
  const url = await c.sandbox.gatewayUrl('veloz', 'veloz-gateway');
  await eventually(
    () =>
      (c.sandbox.get('deployments', 'veloz', 'veloz-engine')?.status as { readyReplicas?: number })?.readyReplicas ===
      2,
  );
  const fleet = await startFleet({ url, clients: 2, kind: 'ws', requestsPerSecond: 100 });
  try {
    await eventually(() => fleet.report().requests.total >= 50, 30_000, '50 requests');
    const r = fleet.report();
    expect(r.requests.failures).toEqual([]);
    expect(Object.keys(r.counts.byVersion)).toEqual(['1.0.0']);
    expect(Object.keys(r.counts.byPod).every((p) => p.startsWith('veloz-engine-'))).toBe(true);
  } finally {
    await fleet.stop();
  }
}

const adminRule = {
  matches: [{ path: { type: 'PathPrefix', value: '/admin' } }],
  filters: [
    { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X-Veloz-Route', value: 'admin' }] } },
  ],
  backendRefs: [{ name: 'blue', port: 8080 }],
};

describe.each<ToolName>(['kubectl-1.31', 'kubectl-1.33'])('%s with Gateway API objects', (kubectl) => {
  let c: TestCluster;
  const k = (...args: string[]) => c.run(kubectl, args);
  const file = async (name: string, body: unknown): Promise<string> => {
    const path = join(c.dir, `${name}.json`);
    await writeFile(path, JSON.stringify(body));
    return path;
  };
  const getRoute = async (name: string): Promise<Route> => {
    const r = await k('get', 'httproute', name, '-o', 'json');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    return JSON.parse(r.stdout) as Route;
  };

  beforeAll(async () => {
    c = await startTestCluster();
  });
  afterAll(async () => {
    await c.close();
  });

  test('apply creates a Gateway and an HTTPRoute with the CRD defaults; re-applying writes nothing', async () => {
    const gw = await k('apply', '-f', await file('gw', gateway('edge')));
    expect(gw).toMatchObject({ code: 0, stdout: `gateway.${GW}/edge created\n` });
    const path = await file('web', route('web', [{ name: 'blue' }]));
    expect(await k('apply', '-f', path)).toMatchObject({ code: 0, stdout: `httproute.${GW}/web created\n` });
    const live = await getRoute('web');
    // Structural defaults of the CRD schema: parentRef group/kind, backendRef group/kind/weight.
    expect(live.spec.parentRefs).toEqual([{ group: GW, kind: 'Gateway', name: 'edge' }]);
    expect(live.spec.rules[0]?.backendRefs).toEqual([
      { group: '', kind: 'Service', name: 'blue', port: 8080, weight: 1 },
    ]);
    // As against a real API server: the three-way merge patch re-sends the atomic lists the defaults
    // changed (so kubectl says "configured"), and the defaulted result equals the live object: no write.
    const rv = c.sandbox.get('httproutes', 'veloz', 'web')?.metadata.resourceVersion;
    expect(await k('apply', '-f', path)).toMatchObject({ code: 0 });
    expect(c.sandbox.get('httproutes', 'veloz', 'web')?.metadata.resourceVersion).toBe(rv);
  });

  test('get prints the CRD printer columns; the category and short names resolve', async () => {
    const routes = await k('get', 'httproutes');
    expect(routes.code).toBe(0);
    expect(routes.stdout).toMatch(/^NAME\s+HOSTNAMES\s+AGE\n/);
    expect(routes.stdout).toMatch(/^web\s+\d+s\n/m);
    const gws = await k('get', 'gtw');
    expect(gws.stdout).toMatch(/^NAME\s+CLASS\s+ADDRESS\s+PROGRAMMED\s+AGE\n/);
    expect(gws.stdout).toMatch(/^edge\s+veloz-sandbox\s/m);
    const all = await k('get', 'gateway-api', '-o', 'name');
    expect(all.stdout.split('\n')).toEqual(expect.arrayContaining([`gateway.${GW}/edge`, `httproute.${GW}/web`]));
  });

  test('client-side apply of a changed route sends a JSON merge patch; strategic merge patch is refused', async () => {
    const changed = await file(
      'web2',
      route('web', [
        { name: 'blue', weight: 95 },
        { name: 'green', weight: 5 },
      ]),
    );
    expect(await k('apply', '-f', changed)).toMatchObject({ code: 0, stdout: `httproute.${GW}/web configured\n` });
    const weights = (await getRoute('web')).spec.rules[0]?.backendRefs?.map((b) => [b.name, b.weight]);
    expect(weights).toEqual([
      ['blue', 95],
      ['green', 5],
    ]);
    const smp = await k('patch', 'httproute', 'web', '--type=strategic', '-p', '{"spec":{"hostnames":["a.test"]}}');
    expect(smp.code).not.toBe(0);
    expect(smp.stderr).toMatch(/UnsupportedMediaType|unknown format|not supported/i);
    expect((await getRoute('web')).spec).not.toHaveProperty('hostnames');
  });

  test('merge and JSON patches change one field', async () => {
    const merge = await k('patch', 'httproute', 'web', '--type=merge', '-p', '{"spec":{"hostnames":["veloz.test"]}}');
    expect(merge).toMatchObject({ code: 0 });
    const json = await k(
      'patch',
      'httproute',
      'web',
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/spec/rules/0/backendRefs/1/weight","value":0}]',
    );
    expect(json).toMatchObject({ code: 0 });
    const live = await getRoute('web');
    expect(live.spec).toMatchObject({ hostnames: ['veloz.test'] });
    expect(live.spec.rules[0]?.backendRefs?.[1]).toMatchObject({ name: 'green', weight: 0 });
    const table = await k('get', 'httproute', 'web');
    expect(table.stdout).toMatch(/^web\s+\["veloz\.test"\]\s+\d+s$/m);
  });

  test('server-side apply: spec.rules is an atomic list, owned whole, so another manager conflicts on it', async () => {
    const mine = await file('ssa', route('ssa', [{ name: 'blue' }], adminRule));
    const applied = await k('apply', '--server-side', '--field-manager=platform', '-f', mine);
    expect(applied).toMatchObject({ code: 0, stdout: `httproute.${GW}/ssa serverside-applied\n` });
    // The canary's own configuration: only the rules (parentRefs stay platform's).
    const weighted = route('ssa', [
      { name: 'blue', weight: 90 },
      { name: 'green', weight: 10 },
    ]);
    const theirs = await file('ssa-weights', { ...weighted, spec: { rules: weighted.spec.rules } });
    const conflict = await k('apply', '--server-side', '--field-manager=canary', '-f', theirs);
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toMatch(
      /Apply failed with 1 conflict: conflict with "platform" using [^:]+: \.spec\.rules$/m,
    );
    const forced = await k('apply', '--server-side', '--field-manager=canary', '--force-conflicts', '-f', theirs);
    expect(forced.code).toBe(0);
    const live = await getRoute('ssa');
    // Atomic: the whole list is the applied one (the admin rule is gone), not a merge of the two.
    expect(live.spec.rules).toHaveLength(1);
    expect(live.spec.parentRefs).toEqual([{ group: GW, kind: 'Gateway', name: 'edge' }]);
    const owners = Object.fromEntries(
      ((c.sandbox.get('httproutes', 'veloz', 'ssa')?.metadata.managedFields ?? []) as Managed[]).map((m) => [
        m.manager,
        JSON.stringify(m.fieldsV1),
      ]),
    );
    expect(owners.canary).toContain('"f:rules":{}');
    expect(owners.platform ?? '').not.toContain('f:rules');
  });

  test('status is a subresource: main writes keep it, status writes change only it', async () => {
    const base = `/apis/${GW}/v1/namespaces/veloz/httproutes/web`;
    const parents = [{ parentRef: { name: 'edge' }, controllerName: 'test/x', conditions: [] }];
    const viaMain = await c.sandbox.request(
      'PATCH',
      base,
      { status: { parents } },
      {
        contentType: 'application/merge-patch+json',
      },
    );
    expect(viaMain.status).toBe(200);
    expect((viaMain.json as Route).status?.parents ?? []).not.toEqual(parents);
    const viaStatus = await c.sandbox.request(
      'PATCH',
      `${base}/status`,
      { status: { parents }, spec: { hostnames: ['ignored.test'] } },
      { contentType: 'application/merge-patch+json' },
    );
    expect(viaStatus.status).toBe(200);
    const after = viaStatus.json as Route & { spec: { hostnames?: string[] } };
    expect(after.status?.parents).toEqual(parents);
    expect(after.spec.hostnames).toEqual(['veloz.test']);
  });

  test('watch streams changes to routes', async () => {
    const list = await c.sandbox.request('GET', `/apis/${GW}/v1/namespaces/veloz/httproutes`);
    const rv = (list.json as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
    const watching = c.sandbox.request(
      'GET',
      `/apis/${GW}/v1/namespaces/veloz/httproutes?watch=true&timeoutSeconds=1&resourceVersion=${rv}`,
    );
    expect(
      await k('patch', 'httproute', 'web', '--type=merge', '-p', '{"metadata":{"labels":{"w":"1"}}}'),
    ).toMatchObject({
      code: 0,
    });
    const events = (await watching).text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; object: Route });
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toContain('MODIFIED web');
  });

  test('the fixture chart rendered with gateway.enabled applies and serves through its Gateway', async () => {
    const rendered = await c.run('helm3', [
      'template',
      'veloz',
      CHART,
      '--namespace',
      'veloz',
      '--set',
      'gateway.enabled=true',
      '--set',
      'gateway.adminRule.enabled=true',
    ]);
    expect(rendered.code).toBe(0);
    const path = join(c.dir, 'chart.yaml');
    await writeFile(path, rendered.stdout);
    const applied = await k('apply', '-f', path);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toContain(`httproute.${GW}/veloz-engine created`);
    await servedThroughGateway(c);
    expect(await k('delete', '-f', path)).toMatchObject({ code: 0 });
  });

  test('invalid routes are refused with the field named; delete removes them', async () => {
    const bad = await k('apply', '-f', await file('bad', route('bad', [{ name: 'blue', weight: -1 }])));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/spec\.rules\[0\]\.backendRefs\[0\]\.weight/);
    expect(await k('delete', 'httproute', 'ssa')).toMatchObject({ code: 0, stdout: `httproute.${GW} "ssa" deleted\n` });
    expect(c.sandbox.get('httproutes', 'veloz', 'ssa')).toBeUndefined();
  });
});

describe.each<ToolName>(['helm3', 'helm4'])('%s installs the chart with gateway.enabled', (helm) => {
  let c: TestCluster;
  const h = (...args: string[]) => c.run(helm, [...args, '--namespace', 'veloz']);

  beforeAll(async () => {
    c = await startTestCluster();
  });
  afterAll(async () => {
    await c.close();
  });

  test('install, upgrade with a second rule, uninstall', async () => {
    const install = await h('upgrade', '--install', 'veloz', CHART, '--set', 'gateway.enabled=true', '--wait');
    expect(install.stderr).not.toMatch(/error/i);
    expect(install.code).toBe(0);
    expect(c.sandbox.get('gateways', 'veloz', 'veloz-gateway')?.spec).toMatchObject({
      gatewayClassName: 'veloz-sandbox',
    });
    await servedThroughGateway(c);
    const first = c.sandbox.get('httproutes', 'veloz', 'veloz-engine') as unknown as Route;
    expect(first.spec.rules).toEqual([
      {
        matches: [{ path: { type: 'PathPrefix', value: '/' } }],
        backendRefs: [{ group: '', kind: 'Service', name: 'veloz-engine', port: 8080, weight: 1 }],
      },
    ]);
    const upgrade = await h(
      'upgrade',
      'veloz',
      CHART,
      '--set',
      'gateway.enabled=true',
      '--set',
      'gateway.adminRule.enabled=true',
      '--wait',
    );
    expect(upgrade.code).toBe(0);
    const second = c.sandbox.get('httproutes', 'veloz', 'veloz-engine') as unknown as Route;
    expect(second.spec.rules).toHaveLength(2);
    expect(second.spec.rules[1]).toMatchObject({
      matches: [{ path: { type: 'PathPrefix', value: '/admin' } }],
      filters: [
        { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X-Veloz-Route', value: 'admin' }] } },
      ],
    });
    expect(await h('uninstall', 'veloz', '--wait')).toMatchObject({ code: 0 });
    expect(c.sandbox.get('httproutes', 'veloz', 'veloz-engine')).toBeUndefined();
    expect(c.sandbox.get('gateways', 'veloz', 'veloz-gateway')).toBeUndefined();
  });
});
