import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { startCluster, type Cluster } from '../support/cluster';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster();
  await cluster.install('1.1.0');
  await cluster.install('1.2.0');
}, 120_000);
afterAll(async () => cluster?.stop());

// A Tuesday inside the runbook's 10:00-14:00 UTC window.
const IN_WINDOW = { 'evaluate-at': '2026-11-24T11:00:00Z' };

function preflight(inputs: Record<string, string>) {
  return runActionBundle(
    'preflight',
    { ...IN_WINDOW, checks: 'rejected', ...inputs },
    { env: cluster.env, timeoutMs: 120_000 },
  );
}

function rejectedMap(): { data?: Record<string, string> } | undefined {
  return cluster.sandbox.get('configmaps', 'veloz', 'veloz-rejected-versions') as
    { data?: Record<string, string> } | undefined;
}

describe('a rolled-back version is rejected until someone says why it is fine', () => {
  test('before any rollback, nothing is rejected', async () => {
    const run = await preflight({ version: '1.2.0' });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.outputs['rejected-versions']).toBe('');
    expect(run.summary).toContain('| Version not rejected by a rollback | ✅ pass | no version rejected |');
  });

  test('the rollback records the version it rolled back from, with reason, time and run', async () => {
    const run = await runActionBundle(
      'rollback',
      { reason: 'error rate above 5% for 5 minutes', timeout: '60s' },
      { env: cluster.env, timeoutMs: 120_000 },
    );
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.outputs['rejected-versions']).toBe('1.2.0');
    expect(run.summary).toContain('Mark v1.2.0 as rejected');
    const entries = JSON.parse(rejectedMap()!.data!['versions.json']!) as Record<string, string>[];
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      version: '1.2.0',
      reason: 'error rate above 5% for 5 minutes',
      rolledBackTo: 'revision 1 (v1.1.0)',
    });
    expect(Date.parse(entries[0]!.at!)).toBeGreaterThan(Date.now() - 120_000);
    expect(entries[0]!.run).toMatch(/\/actions\/runs\/\d+$/);
  });

  test('preflight refuses the rejected version, naming why and how to override', async () => {
    const run = await preflight({ version: 'v1.2.0' });
    expect(run.exitCode).toBe(1);
    expect(run.outputs.ready).toBe('false');
    expect(run.outputs['failed-checks']).toBe('rejected');
    expect(run.outputs['rejected-versions']).toBe('1.2.0');
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain('rejected: v1.2.0 was rolled back at');
    expect(run.errors[0]).toContain('(error rate above 5% for 5 minutes)');
    expect(run.errors[0]).toContain('set override-reason');
    expect(run.errors[0]).toContain('kubectl get configmap veloz-rejected-versions -n veloz -o yaml');
  });

  test('with override-reason it passes with a warning that carries the reason', async () => {
    const run = await preflight({ version: '1.2.0', 'override-reason': 'the alert was a Prometheus outage' });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.outputs.ready).toBe('true');
    expect(run.warnings).toContain('Rejected version deployed: the alert was a Prometheus outage');
    expect(run.summary).toContain('1.2.0 rejected, OVERRIDDEN');
  });

  test('a later deploy of another version leaves the record, and that version passes', async () => {
    const ok = await preflight({ version: '1.3.0' });
    expect(ok.exitCode).toBe(0);
    expect(ok.outputs['rejected-versions']).toBe('1.2.0');
    await cluster.install('1.3.0');
    expect(rejectedMap()?.data?.['versions.json']).toContain('"1.2.0"');
    const again = await preflight({ version: '1.2.0' });
    expect(again.exitCode).toBe(1);
  });

  test('checks: rejected without a version is a bad input that changes nothing', async () => {
    const before = cluster.sandbox.journal.list().length;
    const run = await preflight({});
    expect(run.exitCode).toBe(1);
    expect(run.errors).toEqual([expect.stringContaining("Input 'checks'")]);
    expect(run.errors[0]).toContain('set `version`');
    expect(cluster.sandbox.journal.list().length).toBe(before);
  });
});
