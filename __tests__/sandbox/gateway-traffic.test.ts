import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { startFleet, type Fleet } from '@veloz/harness';
import type { KubeObject, Sandbox } from '@veloz/sandbox';
import { deploymentManifest, eventually, startTestCluster, type TestCluster } from './support';

/** The Gateway data plane with real clients: weights, endpoints read live, connections dropped with their pod. */

const GW = 'gateway.networking.k8s.io';
const ROUTE_PATH = `/apis/${GW}/v1/namespaces/veloz/httproutes/web`;

const deployment = (name: string, version: string, replicas: number): KubeObject =>
  JSON.parse(deploymentManifest(name, `veloz/engine:${version}`, { replicas })) as KubeObject;

const service = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'veloz' },
  spec: { selector: { app: name }, ports: [{ port: 8080 }] },
});

const setWeights = async (sb: Sandbox, blue: number, green: number): Promise<void> => {
  const rules = [
    {
      matches: [{ path: { type: 'PathPrefix', value: '/' } }],
      backendRefs: [
        { name: 'blue', port: 8080, weight: blue },
        { name: 'green', port: 8080, weight: green },
      ],
    },
  ];
  const r = await sb.request('PATCH', ROUTE_PATH, { spec: { rules } }, { contentType: 'application/merge-patch+json' });
  expect(r.status).toBe(200);
};

const readyPods = (sb: Sandbox, app: string): string[] =>
  sb
    .list('pods', 'veloz', `app=${app}`)
    .filter(
      (p) =>
        !p.metadata.deletionTimestamp &&
        (p.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions?.some(
          (c) => c.type === 'Ready' && c.status === 'True',
        ),
    )
    .map((p) => p.metadata.name ?? '');

/** `veloz_http_requests_total` of /api/market summed over a Deployment's engines. */
const marketRequests = async (sb: Sandbox, app: string): Promise<number> => {
  let n = 0;
  for (const e of sb.engines().filter((x) => x.podName.startsWith(`${app}-`))) {
    const text = await (await fetch(`${e.url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    for (const m of text.matchAll(/^veloz_http_requests_total\{code="\d+",route="\/api\/market"\} (\d+)$/gm))
      n += Number(m[1]);
  }
  return n;
};

describe('a Gateway routing to blue and green', () => {
  let c: TestCluster;
  let url: string;
  let fleet: Fleet | undefined;

  beforeAll(async () => {
    c = await startTestCluster();
    const sb = c.sandbox;
    for (const o of [
      deployment('blue', '1.0.0', 2),
      deployment('green', '1.1.0', 1),
      service('blue'),
      service('green'),
    ])
      sb.apply(o);
    sb.apply({
      apiVersion: `${GW}/v1`,
      kind: 'Gateway',
      metadata: { name: 'edge', namespace: 'veloz' },
      spec: { gatewayClassName: 'veloz-sandbox', listeners: [{ name: 'http', protocol: 'HTTP', port: 80 }] },
    });
    sb.apply({
      apiVersion: `${GW}/v1`,
      kind: 'HTTPRoute',
      metadata: { name: 'web', namespace: 'veloz' },
      spec: { parentRefs: [{ name: 'edge' }], rules: [{ backendRefs: [{ name: 'blue', port: 8080 }] }] },
    });
    url = await sb.gatewayUrl('veloz', 'edge');
    await eventually(() => readyPods(sb, 'blue').length === 2 && readyPods(sb, 'green').length === 1, 30_000, 'pods');
  });
  afterEach(async () => {
    await fleet?.stop();
    fleet = undefined;
  });
  afterAll(async () => {
    await c.close();
  });

  test('the Gateway and the route report their status as a controller does', () => {
    const gw = c.sandbox.get('gateways', 'veloz', 'edge');
    expect(gw?.status).toMatchObject({
      addresses: [{ type: 'IPAddress', value: '127.0.0.1' }],
      conditions: expect.arrayContaining([
        expect.objectContaining({ type: 'Accepted', status: 'True' }),
        expect.objectContaining({ type: 'Programmed', status: 'True', message: expect.stringContaining(url) }),
      ]),
      listeners: [expect.objectContaining({ name: 'http', attachedRoutes: 1 })],
    });
    expect(c.sandbox.get('httproutes', 'veloz', 'web')?.status).toMatchObject({
      parents: [
        {
          parentRef: { name: 'edge' },
          controllerName: 'sandbox.veloz.dev/gateway-controller',
          conditions: expect.arrayContaining([
            expect.objectContaining({ type: 'Accepted', status: 'True' }),
            expect.objectContaining({ type: 'ResolvedRefs', status: 'True' }),
          ]),
        },
      ],
    });
  });

  test('blue 95 / green 5: over 2,000 requests green gets 5% within 2 points, none fails', async () => {
    await setWeights(c.sandbox, 95, 5);
    fleet = await startFleet({ url, clients: 0, kind: 'ws', requestsPerSecond: 250, timeoutMs: 5000 });
    await eventually(() => fleet!.report().requests.total >= 2000, 60_000, '2,000 requests');
    const r = fleet.report();
    expect(r.requests.failures).toEqual([]);
    expect(r.share.byVersion['1.1.0']).toBeGreaterThanOrEqual(0.03);
    expect(r.share.byVersion['1.1.0']).toBeLessThanOrEqual(0.07);
    // Both blue pods served: the weight picks the Service, then the pods share its part.
    expect(Object.keys(r.counts.byPod).filter((p) => p.startsWith('blue-'))).toHaveLength(2);
  });

  test('weight 0: no request reaches green', async () => {
    await setWeights(c.sandbox, 100, 0);
    const before = await marketRequests(c.sandbox, 'green');
    fleet = await startFleet({ url, clients: 0, kind: 'ws', requestsPerSecond: 200, timeoutMs: 5000 });
    await eventually(() => fleet!.report().requests.total >= 400, 30_000, '400 requests');
    await fleet.stop();
    const r = fleet.report();
    expect(r.requests.failed).toBe(0);
    expect(r.counts.byVersion).toEqual({ '1.0.0': r.requests.total });
    expect(await marketRequests(c.sandbox, 'green')).toBe(before);
  });

  test('deleting a pod drops its WebSocket clients; each reconnects once, to a live pod', async () => {
    await setWeights(c.sandbox, 1, 0);
    fleet = await startFleet({ url, clients: 12, kind: 'ws', requestsPerSecond: 0 });
    const first = fleet.report().clients.map((cl) => cl.connections[0]?.pod ?? '');
    expect(new Set(first).size).toBe(2);
    // The streams count in the engines' open-connections gauge.
    const victim = first[0] ?? '';
    const onVictim = first.filter((p) => p === victim).length;
    expect(c.sandbox.engineOf('veloz', victim)?.activeConnections).toBe(onVictim);
    fleet.resetCounters();
    c.sandbox.remove('pods', 'veloz', victim);
    await eventually(
      () => fleet!.report().clients.every((cl) => cl.connected && cl.connections.at(-1)?.pod !== victim),
      20_000,
      'clients back on live pods',
    );
    const r = fleet.report();
    const moved = r.clients.filter((cl) => first[cl.id] === victim);
    expect(moved).toHaveLength(onVictim);
    for (const cl of moved) {
      expect(cl.reconnects).toBe(1);
      const now = cl.connections.at(-1)!;
      expect(now.pod).not.toBe(victim);
      expect(c.sandbox.get('pods', 'veloz', now.pod)?.metadata.deletionTimestamp).toBeUndefined();
    }
    expect(r.clients.filter((cl) => first[cl.id] !== victim).every((cl) => cl.reconnects === 0)).toBe(true);
    expect(c.sandbox.gatewayConnections('veloz', 'edge')).toBe(12);
  });

  test('a terminating pod gets no new connection or request, and nothing fails meanwhile', async () => {
    await setWeights(c.sandbox, 1, 0);
    await eventually(() => readyPods(c.sandbox, 'blue').length === 2, 30_000, 'two ready blue pods');
    const [held] = readyPods(c.sandbox, 'blue');
    // A finalizer keeps it Terminating for as long as the test looks.
    await c.sandbox.request(
      'PATCH',
      `/api/v1/namespaces/veloz/pods/${held}`,
      { metadata: { finalizers: ['veloz.test/hold'] } },
      { contentType: 'application/merge-patch+json' },
    );
    c.sandbox.remove('pods', 'veloz', held ?? '');
    const since = Date.now();
    await eventually(() => readyPods(c.sandbox, 'blue').length >= 1, 30_000, 'a ready blue pod');
    fleet = await startFleet({ url, clients: 8, kind: 'sse', requestsPerSecond: 100, timeoutMs: 5000 });
    await eventually(() => fleet!.report().requests.total >= 300, 30_000, '300 requests');
    const r = fleet.report();
    expect(c.sandbox.get('pods', 'veloz', held ?? '')?.metadata.deletionTimestamp).toBeDefined();
    expect(r.counts.byPod[held ?? '']).toBeUndefined();
    expect(r.requests.failed).toBe(0);
    const spans = r.clients.flatMap((cl) => cl.connections);
    expect(spans.filter((s) => s.pod === held && s.openedAt >= since)).toEqual([]);
    expect(spans.every((s) => s.version === '1.0.0')).toBe(true);
    await c.sandbox.request(
      'PATCH',
      `/api/v1/namespaces/veloz/pods/${held}`,
      { metadata: { finalizers: null } },
      { contentType: 'application/merge-patch+json' },
    );
  });

  test('SSE streams count in the gauge and reconnect when their pod is killed', async () => {
    await setWeights(c.sandbox, 0, 1);
    fleet = await startFleet({ url, clients: 4, kind: 'sse', requestsPerSecond: 0 });
    const [pod] = readyPods(c.sandbox, 'green');
    expect(c.sandbox.engineOf('veloz', pod ?? '')?.activeConnections).toBe(4);
    fleet.resetCounters();
    c.sandbox.remove('pods', 'veloz', pod ?? '');
    await eventually(
      () => fleet!.report().clients.every((cl) => cl.connected && cl.connections.at(-1)?.pod !== pod),
      30_000,
      'SSE clients on the replacement pod',
    );
    expect(fleet.report().reconnects).toMatchObject({ total: 4, max: 1 });
  });

  test('no matching rule is a 404, no ready endpoint a 503, a missing Service a 500: each says why', async () => {
    const sb = c.sandbox;
    sb.apply(deployment('idle', '1.0.0', 0));
    sb.apply(service('idle'));
    sb.apply({
      apiVersion: `${GW}/v1`,
      kind: 'HTTPRoute',
      metadata: { name: 'odd', namespace: 'veloz' },
      spec: {
        parentRefs: [{ name: 'edge' }],
        rules: [
          { matches: [{ path: { type: 'Exact', value: '/idle' } }], backendRefs: [{ name: 'idle', port: 8080 }] },
          {
            matches: [{ path: { type: 'PathPrefix', value: '/gone' } }],
            backendRefs: [{ name: 'nosuch', port: 8080 }],
          },
        ],
      },
    });
    await setWeights(sb, 0, 0);
    const get = async (path: string): Promise<{ status: number; body: { error: string; message: string } }> => {
      const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(5000) });
      return { status: res.status, body: (await res.json()) as { error: string; message: string } };
    };
    expect(await get('/idle')).toMatchObject({
      status: 503,
      body: {
        error: 'no_ready_endpoint',
        message: expect.stringContaining('Service veloz/idle has no ready endpoint'),
      },
    });
    expect(await get('/gone/x')).toMatchObject({
      status: 500,
      body: { message: expect.stringContaining('Service veloz/nosuch not found') },
    });
    expect(await get('/api/market')).toMatchObject({
      status: 500,
      body: { error: 'no_backend', message: expect.stringContaining('rule 0 of HTTPRoute veloz/web') },
    });
    sb.remove('httproutes', 'veloz', 'web');
    expect(await get('/api/market')).toMatchObject({ status: 404, body: { error: 'no_route' } });
    await eventually(() => {
      const parents = (sb.get('httproutes', 'veloz', 'odd')?.status as { parents?: { conditions: unknown[] }[] })
        ?.parents;
      return JSON.stringify(parents).includes('"reason":"BackendNotFound"');
    });
    sb.remove('httproutes', 'veloz', 'odd');
  });

  test('`veloz-sandbox gateways` prints the listener URL of each Gateway', async () => {
    const bin = join(process.cwd(), 'packages/sandbox/bin/veloz-sandbox.js');
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, [bin, 'gateways', '--kubeconfig', c.kubeconfig], { timeout: 30_000 }, (err, stdout) =>
        err ? reject(err) : resolve(stdout),
      ),
    );
    expect(JSON.parse(out)).toEqual({ 'veloz/edge': url });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
