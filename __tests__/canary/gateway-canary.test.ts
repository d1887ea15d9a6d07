/**
 * Issue 28 items 2–3 through the bundles on the sandbox, with helm 3, helm 4 and kubectl: the weighted
 * canary on the chart's HTTPRoute (a second rule with a filter), its checks before any write, its
 * re-run and plan, the abort, and the held promotion (no old pod is terminated before the new
 * ReplicaSet is ready; old pods and green retire together; blue never left paused).
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { CHART, IMAGE, VALUES_PRODUCTION, installServing, startCluster, type Cluster } from '../support/cluster';
import { endpointPods } from './side-by-side-support';

const WRITES = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
const GATEWAY = ['gateway.enabled=true', 'gateway.adminRule.enabled=true'];
const ROUTER = { 'traffic-router': 'gateway-api', 'http-route': 'veloz-engine', 'canary-weight': '5%' };

interface Ref {
  name: string;
  port?: number;
  weight?: number;
}
interface Route {
  metadata: { resourceVersion?: string };
  spec: { parentRefs: unknown[]; rules: { matches?: unknown[]; filters?: unknown[]; backendRefs?: Ref[] }[] };
}
interface PodLike {
  metadata: {
    name?: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
    ownerReferences?: { uid: string }[];
  };
  status?: { conditions?: { type: string; status: string }[] };
}

describe.each([
  ['helm3', { driver: 'helm', chart: CHART, 'values-files': VALUES_PRODUCTION, set: GATEWAY.join('\n') }],
  ['helm4', { driver: 'helm', chart: CHART, 'values-files': VALUES_PRODUCTION, set: GATEWAY.join('\n') }],
  ['kubectl', { driver: 'kubectl', image: IMAGE }],
] as const)('weighted canary with %s', (tool, driverInputs) => {
  let cluster: Cluster;
  let routeBefore: Route;
  beforeAll(async () => {
    cluster = await startCluster({ helm: tool === 'helm4' ? 'helm4' : 'helm3' });
    await installServing(cluster, '1.0.0', GATEWAY);
    routeBefore = route();
  }, 120_000);
  afterAll(async () => cluster?.stop());

  const canary = (inputs: Record<string, string>) =>
    runActionBundle('canary', { ...driverInputs, timeout: '60s', ...inputs }, { env: cluster.env, timeoutMs: 120_000 });
  const rollback = () =>
    runActionBundle(
      'rollback',
      { driver: driverInputs.driver, reason: 'canary validation failed', timeout: '60s' },
      { env: cluster.env, timeoutMs: 120_000 },
    );
  const route = (name = 'veloz-engine') =>
    structuredClone(cluster.sandbox.get('httproutes', 'veloz', name)) as unknown as Route;
  const writesSince = (since: number) =>
    cluster.sandbox.journal.list({ since }).filter((e) => WRITES.has(e.verb) && e.resource !== 'leases');
  const live = (selector: string) =>
    (cluster.sandbox.list('pods', 'veloz', selector) as unknown as PodLike[]).filter(
      (p) => !p.metadata.deletionTimestamp,
    );
  const names = (pods: PodLike[]) => pods.map((p) => p.metadata.name ?? '').sort();
  const weights = (r: Route) =>
    r.spec.rules.map((rule) => (rule.backendRefs ?? []).map((b) => `${b.name}:${b.weight}`));

  test('bad router inputs: one ::error:: each, all at once, nothing written', async () => {
    const since = Date.now();
    const run = await canary({
      phase: 'canary',
      version: '1.1.0',
      'traffic-router': 'gateway-api',
      'canary-weight': '150%',
      'drain-timeout': 'a while',
    });
    expect(run.exitCode).toBe(1);
    expect(run.errors).toEqual([
      expect.stringMatching(/Input 'canary-weight' has value "150%": expected a whole percentage between 1% and 99%/),
      expect.stringMatching(/Input 'http-route' is required but was not set: expected an HTTPRoute name/),
      expect.stringMatching(/Input 'drain-timeout' has value "a while": expected a duration/),
    ]);
    expect(writesSince(since)).toEqual([]);
  });

  test('a missing route is an error before any write', async () => {
    const since = Date.now();
    const run = await canary({ phase: 'canary', version: '1.1.0', ...ROUTER, 'http-route': 'nope' });
    expect(run.exitCode).toBe(1);
    expect(run.errors.join('\n')).toContain('HTTPRoute veloz/nope does not exist. Nothing was changed.');
    expect(writesSince(since)).toEqual([]);
  });

  test("a route without blue's Service is an error before any write", async () => {
    cluster.sandbox.apply({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'docs', namespace: 'veloz' },
      spec: { parentRefs: [{ name: 'veloz-gateway' }], rules: [{ backendRefs: [{ name: 'docs', port: 80 }] }] },
    });
    const since = Date.now();
    const run = await canary({ phase: 'canary', version: '1.1.0', ...ROUTER, 'http-route': 'docs' });
    expect(run.exitCode).toBe(1);
    expect(run.errors.join('\n')).toMatch(
      /HTTPRoute veloz\/docs sends to no Service that selects veloz-engine's pods: its backends are Service\/docs; veloz-engine's pods are selected by veloz-engine\. Nothing was changed\./,
    );
    expect(writesSince(since)).toEqual([]);
  });

  test('plan: the route change shown, nothing written', async () => {
    const since = Date.now();
    const run = await canary({ phase: 'canary', version: '1.1.0', ...ROUTER, plan: 'true' });
    expect(run.errors).toEqual([]);
    expect(run.summary).toContain('create Service veloz-engine-green -n veloz');
    expect(run.summary).toMatch(
      /patch HTTPRoute veloz-engine -n veloz \(JSON patch, \d+ operations\): blue 95% \/ green 5%/,
    );
    expect(run.summary).toContain('HTTPRoute/veloz-engine');
    expect(writesSince(since)).toEqual([]);
  });

  test("canary 5%: green's own Service, blue 95 / green 5 in both rules, the filter and the rest as they were", async () => {
    const blue = names(live('app.kubernetes.io/name=veloz,!veloz.io/track'));
    const run = await canary({ phase: 'canary', version: '1.1.0', ...ROUTER });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.summary).toContain('| **Traffic** | blue 95% / green 5% through HTTPRoute veloz-engine |');
    expect(run.outputs['canary-weight']).toBe('5%');
    // the promote plan at the end of the summary shows the route's switch back to blue alone
    expect(run.summary).toMatch(/patch HTTPRoute veloz-engine -n veloz \(JSON patch, \d+ operations\): blue only/);
    expect(run.outputs.traffic).toBe('blue 95% / green 5% through HTTPRoute veloz-engine');
    const after = route();
    expect(weights(after)).toEqual([
      ['veloz-engine:95', 'veloz-engine-green:5'],
      ['veloz-engine:95', 'veloz-engine-green:5'],
    ]);
    // every other field of every rule, and the rest of the spec, field by field
    after.spec.rules.forEach((rule, i) => {
      const was = routeBefore.spec.rules[i]!;
      expect(rule.matches).toEqual(was.matches);
      expect(rule.filters).toEqual(was.filters);
      expect(rule.backendRefs?.[0]).toEqual({ ...was.backendRefs?.[0], weight: 95 });
    });
    expect(after.spec.parentRefs).toEqual(routeBefore.spec.parentRefs);
    // green out of blue's Service, alone in its own
    const green = names(live('veloz.io/track=green'));
    expect(green).toHaveLength(1);
    expect(endpointPods(cluster.sandbox)).toEqual(blue);
    expect(endpointPods(cluster.sandbox, 'veloz-engine-green')).toEqual(green);
    const svc = cluster.sandbox.get('services', 'veloz', 'veloz-engine-green') as unknown as {
      metadata: { ownerReferences?: { kind: string; name: string }[] };
    };
    expect(svc.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Deployment', name: 'veloz-engine-green' }),
    ]);
  });

  test('re-running the weighted canary writes nothing', async () => {
    const since = Date.now();
    const run = await canary({ phase: 'canary', version: '1.1.0', ...ROUTER });
    expect(run.errors).toEqual([]);
    expect(run.summary).toContain('nothing changed (re-run)');
    expect(writesSince(since)).toEqual([]);
  });

  test('abort: green to 0 first, then its backendRef gone; the route exactly as before, green and its Service gone', async () => {
    const since = Date.now();
    const run = await rollback();
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.summary).toContain("green's weight 0, then its backendRef removed");
    const routeWrites = writesSince(since).filter((e) => e.resource === 'httproutes');
    expect(routeWrites.map((e) => e.verb)).toEqual(['patch', 'patch']);
    const after = route();
    expect(after.spec).toEqual(routeBefore.spec);
    expect(cluster.sandbox.get('services', 'veloz', 'veloz-engine-green')).toBeUndefined();
    expect(live('veloz.io/track=green')).toEqual([]);
  });

  test('promotion: green off the route, no old pod goes before the new ReplicaSet is ready, then all at once', async () => {
    expect((await canary({ phase: 'canary', version: '1.1.0', ...ROUTER })).exitCode).toBe(0);
    const oldBlue = new Set(names(live('app.kubernetes.io/name=veloz,!veloz.io/track')));
    const green = new Set(names(live('veloz.io/track=green')));
    const terminatedAt = new Map<string, number>();
    const readyNew = new Set<string>();
    let newReadyAt = Infinity;
    const stop = cluster.sandbox.registry.store.subscribe((event) => {
      if (event.resource !== 'pods' && !event.resource.endsWith('/pods')) return;
      const pod = event.object as unknown as PodLike;
      const name = pod.metadata.name ?? '';
      if (oldBlue.has(name) || green.has(name)) {
        if ((pod.metadata.deletionTimestamp || event.type === 'DELETED') && !terminatedAt.has(name))
          terminatedAt.set(name, Date.now());
        return;
      }
      const ready =
        !pod.metadata.deletionTimestamp &&
        pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      if (ready && pod.metadata.labels?.['veloz.io/track'] === undefined) readyNew.add(name);
      if (readyNew.size >= oldBlue.size && newReadyAt === Infinity) newReadyAt = Date.now();
    });
    let run;
    try {
      run = await canary({ phase: 'promote', version: '1.1.0', ...ROUTER });
    } finally {
      stop();
    }
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.summary).toContain('Hold veloz-engine: paused');
    expect(run.summary).toContain("Switch HTTPRoute veloz-engine: blue only, green's backendRef removed");
    // every old pod (blue's and green) terminated, and none before the whole new ReplicaSet was ready
    expect([...terminatedAt.keys()].sort()).toEqual([...oldBlue, ...green].sort());
    for (const at of terminatedAt.values()) expect(at).toBeGreaterThanOrEqual(newReadyAt);
    const d = cluster.sandbox.get('deployments', 'veloz', 'veloz-engine') as unknown as {
      spec: { paused?: boolean; strategy?: { rollingUpdate?: { maxSurge?: unknown; maxUnavailable?: unknown } } };
      metadata: { annotations?: Record<string, string> };
    };
    expect(d.spec.paused).toBeFalsy();
    expect(d.spec.strategy?.rollingUpdate).toEqual({ maxSurge: '25%', maxUnavailable: '25%' });
    expect(d.metadata.annotations?.['veloz.io/promotion-hold']).toBeUndefined();
    expect(route().spec).toEqual(routeBefore.spec);
    expect(cluster.sandbox.get('services', 'veloz', 'veloz-engine-green')).toBeUndefined();
    expect(live('veloz.io/track=green')).toEqual([]);
  });

  test('a rollback copes with a Deployment a stopped promotion left held: unpaused, its strategy back', async () => {
    const kubectl = (args: string[]) => cluster.kubectl(['-n', 'veloz', ...args]);
    const strategy = JSON.stringify({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' },
    });
    const patch = {
      metadata: { annotations: { 'veloz.io/promotion-hold': '99', 'veloz.io/promotion-strategy': strategy } },
      spec: { paused: true, strategy: { rollingUpdate: { maxSurge: '100%', maxUnavailable: 0 } } },
    };
    expect(
      (await kubectl(['patch', 'deployment/veloz-engine', '--type=merge', '-p', JSON.stringify(patch)])).code,
    ).toBe(0);
    const run = await rollback();
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.summary).toContain('veloz-engine was held by promotion 99; unpaused, its own strategy back');
    const d = cluster.sandbox.get('deployments', 'veloz', 'veloz-engine') as unknown as {
      spec: { paused?: boolean; strategy?: { rollingUpdate?: unknown } };
      metadata: { annotations?: Record<string, string> };
    };
    expect(d.spec.paused).toBeFalsy();
    expect(d.spec.strategy?.rollingUpdate).toEqual({ maxSurge: '25%', maxUnavailable: '25%' });
    expect(d.metadata.annotations?.['veloz.io/promotion-hold']).toBeUndefined();
    const pods = live('app.kubernetes.io/name=veloz,!veloz.io/track');
    expect(pods.length).toBeGreaterThanOrEqual(2);
  });

  test('a promotion that fails after the hold: blue unpaused with its own strategy, its old pods still serving', async () => {
    cluster.sandbox.setProfile(`${IMAGE}:1.3.0`, 'crashloop');
    // the rollback's own rollout settled: exactly its 2 pods, of one ReplicaSet (two pods can also be
    // one old and one new while that rollout still turns over)
    const settled = () => {
      const pods = live('app.kubernetes.io/name=veloz,!veloz.io/track');
      return pods.length === 2 && new Set(pods.map((p) => p.metadata.labels?.['pod-template-hash'])).size === 1;
    };
    for (let i = 0; i < 400 && !settled(); i++) await new Promise((r) => setTimeout(r, 50));
    expect(settled()).toBe(true);
    const old = names(live('app.kubernetes.io/name=veloz,!veloz.io/track'));
    const run = await canary({ phase: 'promote', version: '1.3.0' });
    expect(run.exitCode).toBe(1);
    expect(run.errors.join('\n')).toMatch(/crash-looping/);
    expect(run.summary).toContain('unpaused, its own rollout strategy back');
    const d = cluster.sandbox.get('deployments', 'veloz', 'veloz-engine') as unknown as {
      spec: { paused?: boolean; strategy?: { rollingUpdate?: unknown } };
      metadata: { annotations?: Record<string, string> };
    };
    expect(d.spec.paused).toBeFalsy();
    expect(d.spec.strategy?.rollingUpdate).toEqual({ maxSurge: '25%', maxUnavailable: '25%' });
    expect(d.metadata.annotations?.['veloz.io/promotion-hold']).toBeUndefined();
    // maxUnavailable 0 while held: not one old pod was taken down for the failing version
    expect(names(live('app.kubernetes.io/name=veloz,!veloz.io/track')).filter((n) => old.includes(n))).toEqual(old);
  });
});
