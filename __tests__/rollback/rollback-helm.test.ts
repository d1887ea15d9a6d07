import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { startCluster, type Cluster } from '../support/cluster';
import { parseMermaid } from '../support/mermaid';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster();
}, 60_000);
afterAll(async () => cluster?.stop());

function rollback(inputs: Record<string, string> = {}) {
  return runActionBundle(
    'rollback',
    { reason: 'error rate above 5% for 5 minutes', timeout: '60s', ...inputs },
    { env: cluster.env, timeoutMs: 120_000 },
  );
}

function images(): string[] {
  return cluster.sandbox
    .list('pods', 'veloz', 'app.kubernetes.io/name=veloz')
    .filter((p) => !(p.metadata as { deletionTimestamp?: string }).deletionTimestamp)
    .map((p) => (p as unknown as { spec: { containers: { image: string }[] } }).spec.containers[0]!.image)
    .sort();
}

describe('helm 3 rollback', () => {
  test('to the previous good version, past the bad release’s own canary revision', async () => {
    await cluster.install('1.0.0'); // 1
    await cluster.install('1.1.0'); // 2
    await cluster.install('1.2.0', ['--set', 'engine.replicaCount=1', '--set', 'autoscaling.enabled=false']); // 3: canary
    await cluster.install('1.2.0'); // 4: promoted
    const run = await rollback();
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.outputs['rolled-back-from']).toBe('revision 4 (v1.2.0)');
    expect(run.outputs['rolled-back-to']).toBe('revision 2 (v1.1.0)');
    expect(Number(run.outputs['duration-seconds'])).toBeGreaterThan(0);
    expect(images()).toEqual(['veloz/engine:1.1.0', 'veloz/engine:1.1.0']);
    expect(run.summary).toContain('ROLLBACK INITIATED');
    expect(run.summary).toContain('Reason: error rate above 5% for 5 minutes');
    expect(run.summary).toMatch(/Health of pod veloz-engine-\S+:8080/);
    // its steps as a Mermaid gantt with their real durations, accepted by the real Mermaid parser
    const gantt = /```mermaid\n(gantt\n[\s\S]*?)\n```/.exec(run.summary)?.[1];
    expect(gantt).toMatch(/\n {2}Roll back[^\n]*\(\d[\d.]*m?s\) :done, s\d+, \d+, \d+\n/);
    expect(await parseMermaid(gantt!)).toBe('gantt');
    const history = await cluster.helmRevisions();
    expect(history.at(-1)).toMatchObject({ revision: 5, status: 'deployed' });
  });

  test('a second run is a no-op that says so', async () => {
    const run = await rollback();
    expect(run.exitCode).toBe(0);
    expect(run.summary).toContain('was already rolled back from revision 4 (v1.2.0) to revision 2 (v1.1.0)');
    expect((await cluster.helmRevisions()).at(-1)?.revision).toBe(5);
  });

  test('to a named revision; an unknown one lists what exists', async () => {
    const unknown = await rollback({ 'to-revision': '42' });
    expect(unknown.exitCode).toBe(1);
    expect(unknown.errors[0]).toContain('Revision 42 does not exist. Available (like `helm history veloz -n veloz`)');
    expect(unknown.errors[0]).toMatch(/1\s+superseded\s+veloz\/engine:1\.0\.0/);
    const run = await rollback({ 'to-revision': '1' });
    expect(run.exitCode).toBe(0);
    expect(run.outputs['rolled-back-to']).toBe('revision 1 (v1.0.0)');
    expect(images()).toEqual(['veloz/engine:1.0.0', 'veloz/engine:1.0.0']);
  });

  test('a release left pending-upgrade by a killed helm is recovered', async () => {
    await cluster.leavePendingUpgrade('1.3.0');
    expect((await cluster.helmRevisions()).at(-1)?.status).toBe('pending-upgrade');
    const run = await rollback({ 'to-revision': '2' });
    expect(run.errors).toEqual([]);
    expect(run.summary).toMatch(/was stuck in pending-upgrade \(a deploy killed mid-way\); it was marked failed/);
    expect(images()).toEqual(['veloz/engine:1.1.0', 'veloz/engine:1.1.0']);
  });
});
