import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { CHART, IMAGE, VALUES_PRODUCTION, startCluster, type Cluster } from '../support/cluster';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster();
  await cluster.install('1.0.0');
}, 120_000);
afterAll(async () => cluster?.stop());

function canary(inputs: Record<string, string>) {
  return runActionBundle(
    'canary',
    { chart: CHART, 'values-files': VALUES_PRODUCTION, strategy: 'in-place', ...inputs },
    { env: cluster.env, timeoutMs: 120_000 },
  );
}

function enginePods() {
  return cluster.sandbox
    .list('pods', 'veloz', 'app.kubernetes.io/name=veloz')
    .filter((p) => !(p.metadata as { deletionTimestamp?: string }).deletionTimestamp)
    .map((p) => (p as unknown as { spec: { containers: { image: string }[] } }).spec.containers[0]!.image);
}

describe('in-place canary then promote with helm 3', () => {
  test('canary: one replica of 1.1.0, autoscaling off, the green pod named', async () => {
    const run = await canary({ phase: 'canary', version: '1.1.0' });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.outputs.revision).toBe('2');
    expect(run.outputs['previous-revision']).toBe('1');
    expect(run.outputs.image).toBe(`${IMAGE}:1.1.0`);
    expect(run.outputs['canary-pod']).toMatch(/^veloz-engine-/);
    expect(enginePods()).toEqual([`${IMAGE}:1.1.0`]);
    expect(cluster.sandbox.list('horizontalpodautoscalers', 'veloz')).toHaveLength(0);
    expect(run.summary).toContain('DEPLOYMENT STARTED');
    expect(run.stdout).toMatch(/updated 1\/1, ready 1\/1, available 1\/1/);
  });

  test('promote: two replicas of 1.1.0, autoscaling back on, every pod checked', async () => {
    const run = await canary({ phase: 'promote', version: '1.1.0' });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.outputs.revision).toBe('3');
    expect(run.outputs['previous-revision']).toBe('1');
    expect(enginePods()).toEqual([`${IMAGE}:1.1.0`, `${IMAGE}:1.1.0`]);
    expect(cluster.sandbox.list('horizontalpodautoscalers', 'veloz')).toHaveLength(1);
    expect(run.summary).toContain('DEPLOYMENT COMPLETE');
  });

  test('re-running promote changes nothing', async () => {
    const before = await cluster.helmRevisions();
    const replicaSets = cluster.sandbox.list('replicasets', 'veloz').length;
    const run = await canary({ phase: 'promote', version: '1.1.0' });
    expect(run.exitCode).toBe(0);
    expect(run.summary).toContain('nothing to change');
    expect(await cluster.helmRevisions()).toHaveLength(before.length);
    expect(cluster.sandbox.list('replicasets', 'veloz')).toHaveLength(replicaSets);
  });
});
