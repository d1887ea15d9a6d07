import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { startCluster, type Cluster } from '../support/cluster';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster();
}, 60_000);
afterAll(async () => cluster?.stop());
beforeEach(async () => {
  cluster.sandbox.faults.clear();
  await cluster.install('1.1.0');
  await cluster.install('1.2.0');
}, 120_000);

function rollback(inputs: Record<string, string> = {}) {
  return runActionBundle(
    'rollback',
    { reason: 'p99 above 1s for 5 minutes', timeout: '30s', ...inputs },
    { env: cluster.env, timeoutMs: 120_000 },
  );
}

function lease(holder: string, renewedSecondsAgo: number): void {
  // 30 s, not the default 2m: a holder that never marks is waited out to its renewal bound (15 s here)
  cluster.holdLease(holder, renewedSecondsAgo, 'canary canary', 30);
}

describe('rollback under pressure', () => {
  test('a live lock blocks it; force: true takes it over and says whose it was', async () => {
    lease('https://github.com/veloz/veloz/actions/runs/77', 5);
    const blocked = await rollback({ 'lock-wait': '0s' });
    expect(blocked.exitCode).toBe(1);
    expect(blocked.errors[0]).toContain('canary canary run https://github.com/veloz/veloz/actions/runs/77');
    expect(blocked.summary).toContain('re-run this rollback with `force: true`');
    const forced = await rollback({ force: 'true' });
    expect(forced.exitCode).toBe(0);
    expect(forced.warnings.join('\n')).toContain(
      'Release lock taken over from canary canary run https://github.com/veloz/veloz/actions/runs/77 by someone (force: true)',
    );
    // a holder that never marks the lease stopped (this one is only a lease) gets until its next renewal
    expect(forced.stdout).toMatch(/waiting for it to stop before writing \(at most \d+s, its next renewal\)/);
    expect(forced.stdout).toContain('did not mark the lease stopped; its renewal bound has passed: writing now.');
  }, 240_000);

  test('a 5xx burst and a dropped watch during the rollback', async () => {
    cluster.sandbox.faults.add({
      verbs: ['get', 'list'],
      resources: ['deployments', 'replicasets'],
      action: { type: 'status', code: 503 },
      count: 2,
    });
    cluster.sandbox.faults.add({
      verbs: ['watch'],
      resources: ['deployments'],
      action: { type: 'watch-close', afterMs: 200, abrupt: true },
      count: 2,
    });
    const run = await rollback();
    expect(run.errors).toEqual([]);
    expect(run.outputs['rolled-back-to']).toMatch(/^revision \d+ \(v1\.1\.0\)$/);
    expect(run.stdout).toMatch(/retrying in \d+ms/);
  });

  test('an engine that stays down after the rollback is reported by the verification', async () => {
    cluster.sandbox.setProfile('veloz/engine:1.1.0', 'degrade:health=fail');
    try {
      const run = await rollback();
      expect(run.exitCode).toBe(1);
      expect(run.errors[0]).toMatch(
        /^Rolled back to revision \d+ \(v1\.1\.0\), but the health checks fail: pod veloz-engine-\S+:8080 \(pods\/proxy\): \/health answered 503/,
      );
      expect(run.summary).toContain('ROLLBACK INITIATED');
      expect(run.summary).toContain('Status: FAILED');
    } finally {
      cluster.sandbox.setProfile('veloz/engine:1.1.0', undefined);
    }
  });
});
