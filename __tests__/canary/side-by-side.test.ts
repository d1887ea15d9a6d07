/**
 * Issue 20: the side-by-side canary through the bundles, with helm 3, helm 4 and kubectl, the chart's
 * autoscaler on. Blue keeps serving at full size while green runs beside it; promotion upgrades blue
 * and removes green; a bad green fails fast and leaves blue alone; every phase re-runs as a no-op.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { WebSocket } from 'ws';
import { CHART, IMAGE, VALUES_PRODUCTION, installServing, startCluster, type Cluster } from '../support/cluster';
import { blueReadyWatch, endpointPods, type BlueReadyWatch } from './side-by-side-support';

const WRITES = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

describe.each([
  ['helm3', { driver: 'helm', chart: CHART, 'values-files': VALUES_PRODUCTION }],
  ['helm4', { driver: 'helm', chart: CHART, 'values-files': VALUES_PRODUCTION }],
  ['kubectl', { driver: 'kubectl', image: IMAGE }],
] as const)('side by side with %s', (tool, driverInputs) => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ helm: tool === 'helm4' ? 'helm4' : 'helm3' });
    await installServing(cluster, '1.0.0');
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
  const live = (selector: string) =>
    cluster.sandbox
      .list('pods', 'veloz', selector)
      .filter((p) => !(p.metadata as { deletionTimestamp?: string }).deletionTimestamp);
  const image = (p: { spec?: unknown }) => (p.spec as { containers: { image: string }[] }).containers[0]!.image;
  const bluePods = () => live('app.kubernetes.io/name=veloz,!veloz.io/track');
  const greenPods = () => live('veloz.io/track=green');
  const names = (pods: { metadata: { name?: string } }[]) => pods.map((p) => p.metadata.name).sort();
  const writesSince = (since: number) =>
    cluster.sandbox.journal.list({ since }).filter((e) => WRITES.has(e.verb) && e.resource !== 'leases');

  test('canary: green 1 × 1.1.0 beside blue; blue, its pods, its autoscaler and its connections untouched', async () => {
    const blueBefore = names(bluePods());
    const revisions = (await cluster.helmRevisions()).length;
    const engine = cluster.sandbox.engineOf('veloz', blueBefore[0]!)!;
    const socket = new WebSocket(`${engine.url.replace('http', 'ws')}/ws/market`);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    let closed = false;
    socket.on('close', () => (closed = true));
    const watch: BlueReadyWatch = blueReadyWatch(cluster.sandbox);
    try {
      const run = await canary({ phase: 'canary', version: '1.1.0' });
      expect(run.errors).toEqual([]);
      expect(run.exitCode).toBe(0);
      expect(run.summary).toContain('blue 2 × 1.0.0 serving, green 1 × 1.1.0, ~33% of requests');
      expect(run.outputs['canary-pod']).toBe(names(greenPods())[0]);
    } finally {
      watch.stop();
    }
    expect(watch.samples).toBeGreaterThan(0);
    expect(watch.minReady).toBe(2);
    expect(names(bluePods())).toEqual(blueBefore);
    expect(bluePods().map(image)).toEqual([`${IMAGE}:1.0.0`, `${IMAGE}:1.0.0`]);
    expect(greenPods().map(image)).toEqual([`${IMAGE}:1.1.0`]);
    expect(cluster.sandbox.list('horizontalpodautoscalers', 'veloz')).toHaveLength(1);
    if (tool !== 'kubectl') expect(await cluster.helmRevisions()).toHaveLength(revisions);
    // share: the Service routes to green as one of its three pods
    expect(endpointPods(cluster.sandbox)).toEqual([...blueBefore, ...names(greenPods())].sort());
    expect(closed).toBe(false);
    const message = new Promise((resolve) => socket.once('message', resolve));
    await expect(message).resolves.toBeDefined();
    socket.close();
  });

  test('re-running the canary changes nothing', async () => {
    const since = Date.now();
    const run = await canary({ phase: 'canary', version: '1.1.0' });
    expect(run.errors).toEqual([]);
    expect(run.summary).toContain('nothing changed (re-run)');
    expect(writesSince(since)).toEqual([]);
  });

  test('canary-traffic none: green replaced, out of the Service, blue untouched', async () => {
    const blueBefore = names(bluePods());
    const run = await canary({ phase: 'canary', version: '1.1.0', 'canary-traffic': 'none' });
    expect(run.errors).toEqual([]);
    expect(run.summary).toContain('no production traffic');
    expect(greenPods()).toHaveLength(1);
    expect(endpointPods(cluster.sandbox)).toEqual(blueBefore);
    expect(names(bluePods())).toEqual(blueBefore);
  });

  test('abort: a rollback removes green alone, blue pods keep their names, no new revision; a re-run does nothing', async () => {
    const blueBefore = names(bluePods());
    const revisions = await cluster.helmRevisions();
    const replicaSets = () =>
      names(cluster.sandbox.list('replicasets', 'veloz')).filter((n) => !n?.startsWith('veloz-engine-green-'));
    const blueReplicaSets = replicaSets();
    const run = await rollback();
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.summary).toMatch(/Canary of v1\.1\.0 aborted: green veloz-engine-green removed in [\d.]+m?s\./);
    expect(run.summary).toMatch(tool === 'kubectl' ? /no rollout was made/ : /no Helm revision was made/);
    expect(run.outputs['rolled-back-to']).toMatch(/\(v1\.0\.0\)$/);
    // green's version is rejected like any rolled-back version: the next push of it stops at preflight
    expect(run.outputs['rejected-versions']?.split(',')).toContain('1.1.0');
    expect(run.summary).toContain('preflight refuses v1.1.0 unless override-reason is given');
    const rejected = cluster.sandbox.get('configmaps', 'veloz', 'veloz-rejected-versions') as
      { data?: Record<string, string> } | undefined;
    expect(JSON.stringify(rejected?.data ?? {})).toContain('1.1.0');
    expect(run.outputs['duration-seconds']).toMatch(/^\d+(\.\d+)?$/); // how fast is bench figure 10's business
    expect(cluster.sandbox.get('deployments', 'veloz', 'veloz-engine-green')).toBeUndefined();
    expect(greenPods()).toEqual([]);
    expect(names(bluePods())).toEqual(blueBefore);
    expect(await cluster.helmRevisions()).toEqual(revisions);
    expect(names(cluster.sandbox.list('replicasets', 'veloz'))).toEqual(blueReplicaSets);

    const since = Date.now();
    const again = await rollback();
    expect(again.errors).toEqual([]);
    expect(again.summary).toContain('Nothing to do: the canary of v1.1.0 was already aborted');
    expect(writesSince(since)).toEqual([]);
  });

  test('canary again after the abort', async () => {
    const run = await canary({ phase: 'canary', version: '1.1.0' });
    expect(run.errors).toEqual([]);
    expect(greenPods().map(image)).toEqual([`${IMAGE}:1.1.0`]);
  });

  test('promote: every pod 1.1.0 at the autoscaler size, green gone, one new Helm revision, no dip', async () => {
    const revisions = (await cluster.helmRevisions()).length;
    const watch = blueReadyWatch(cluster.sandbox);
    try {
      const run = await canary({ phase: 'promote', version: '1.1.0' });
      expect(run.errors).toEqual([]);
      expect(run.exitCode).toBe(0);
      expect(run.summary).toMatch(/Remove green veloz-engine-green/);
    } finally {
      watch.stop();
    }
    expect(watch.minReady).toBeGreaterThanOrEqual(2);
    expect(cluster.sandbox.get('deployments', 'veloz', 'veloz-engine-green')).toBeUndefined();
    expect(greenPods()).toEqual([]);
    expect(bluePods().map(image)).toEqual([`${IMAGE}:1.1.0`, `${IMAGE}:1.1.0`]);
    expect(cluster.sandbox.list('horizontalpodautoscalers', 'veloz')).toHaveLength(1);
    if (tool !== 'kubectl') expect(await cluster.helmRevisions()).toHaveLength(revisions + 1);
  });

  test('re-running the promotion changes nothing', async () => {
    const since = Date.now();
    const run = await canary({ phase: 'promote', version: '1.1.0' });
    expect(run.errors).toEqual([]);
    expect(run.summary).toContain('nothing to change');
    expect(writesSince(since)).toEqual([]);
  });

  test('a crash-looping green fails fast and leaves blue untouched', async () => {
    const blueBefore = names(bluePods());
    cluster.sandbox.setProfile(`${IMAGE}:1.2.0`, 'crashloop');
    const run = await canary({ phase: 'canary', version: '1.2.0' });
    expect(run.exitCode).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(
      /Pod veloz-engine-green-[a-z0-9]+-[a-z0-9]+, container veloz-engine is crash-looping/,
    );
    expect(run.summary).toContain('kubectl delete deployment/veloz-engine-green -n veloz');
    expect(names(bluePods())).toEqual(blueBefore);
    expect(bluePods().map(image)).toEqual([`${IMAGE}:1.1.0`, `${IMAGE}:1.1.0`]);
    expect(endpointPods(cluster.sandbox)).toEqual(blueBefore);

    // the deploy workflow's rollback job after the failed canary: green goes, blue stays on 1.1.0
    const abort = await rollback();
    expect(abort.errors).toEqual([]);
    expect(abort.summary).toContain('Canary of v1.2.0 aborted');
    expect(greenPods()).toEqual([]);
    expect(names(bluePods())).toEqual(blueBefore);
  });
});
