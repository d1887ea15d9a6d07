/**
 * A cancelled step (GitHub sends SIGINT, then SIGTERM) gives its release lock back: helm is
 * interrupted, the Lease deleted, and the rollback that follows starts at once with `lock-wait: 0s`
 * instead of failing on "Release is locked" for `lock-ttl`.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import type { ChildProcess } from 'node:child_process';
import { preemptableCanary, startCluster, type Cluster } from '../support/cluster';

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster();
  await cluster.install('1.1.0');
  await cluster.install('1.2.0');
}, 120_000);
afterAll(async () => cluster?.stop());

const lease = () =>
  cluster.sandbox.get('leases', 'veloz', 'veloz-deploy-veloz') as { spec?: { holderIdentity?: string } } | undefined;

test.each(['SIGTERM', 'SIGINT'] as const)(
  '%s to a canary mid-rollout: helm interrupted, the Lease given back, the rollback starts at once',
  async (signal) => {
    let child: ChildProcess | undefined;
    const inputs = preemptableCanary(cluster.sandbox, '60s', { 'lock-ttl': '2m', timeout: '2m' });
    const canary = runActionBundle('canary', inputs, {
      env: cluster.env,
      timeoutMs: 120_000,
      onSpawn: (c) => (child = c),
    });
    // mid-rollout: helm has written its revision and waits for the slow pod, the Lease is the canary's
    const until = Date.now() + 60_000;
    while (Date.now() < until && (await cluster.helmRevisions()).at(-1)?.status !== 'pending-upgrade')
      await new Promise((r) => setTimeout(r, 200));
    expect((await cluster.helmRevisions()).at(-1)?.status).toBe('pending-upgrade');
    expect(lease()?.spec?.holderIdentity).toMatch(/canary/);

    const sentAt = Date.now();
    child!.kill(signal);
    const cancelled = await canary;
    expect(cancelled.exitCode).toBe(signal === 'SIGINT' ? 130 : 143);
    expect(Date.now() - sentAt).toBeLessThan(15_000);
    expect(cancelled.errors.at(-1)).toMatch(
      new RegExp(`^Cancelled \\(${signal}\\): helm was interrupted and the release lock given back`),
    );
    expect(lease()).toBeUndefined();
    // helm recorded its interrupted upgrade instead of leaving it pending for ever
    expect((await cluster.helmRevisions()).at(-1)?.status).not.toBe('pending-upgrade');

    const rollback = await runActionBundle(
      'rollback',
      { reason: 'canary cancelled', 'lock-wait': '0s', timeout: '60s' },
      // another workflow run (the on-call's manual rollback): it starts only because the Lease is gone
      { env: { ...cluster.env, GITHUB_RUN_ID: '6000' }, timeoutMs: 120_000 },
    );
    expect(rollback.errors).toEqual([]);
    expect(rollback.exitCode).toBe(0);
  },
  150_000,
);

test("a canary killed outright (SIGKILL, runner lost) is rolled back by the same run's rollback job at once", async () => {
  let child: ChildProcess | undefined;
  const run = { ...cluster.env, GITHUB_RUN_ID: '5150' };
  const inputs = preemptableCanary(cluster.sandbox, '60s', { 'lock-ttl': '2m', timeout: '2m' });
  const canary = runActionBundle('canary', inputs, { env: run, timeoutMs: 120_000, onSpawn: (c) => (child = c) });
  const until = Date.now() + 60_000;
  while (Date.now() < until && (await cluster.helmRevisions()).at(-1)?.status !== 'pending-upgrade')
    await new Promise((r) => setTimeout(r, 200));
  expect(lease()?.spec?.holderIdentity).toMatch(/canary/);
  child!.kill('SIGKILL');
  await canary;
  expect(lease()?.spec?.holderIdentity).toMatch(/canary/); // nothing gave it back

  const started = Date.now();
  const rollback = await runActionBundle(
    'rollback',
    { reason: 'canary failed', 'lock-wait': '0s', timeout: '60s' },
    { env: run, timeoutMs: 120_000 },
  );
  expect(rollback.errors).toEqual([]);
  expect(rollback.exitCode).toBe(0);
  expect(rollback.warnings.join('\n')).toContain('(a job of this workflow run, which has ended)');
  // at once: no wait for a stop mark or a renewal bound (40 s with a 2m lease)
  expect(Date.now() - started).toBeLessThan(30_000);
}, 150_000);

test('a lease of another workflow run is still refused with lock-wait 0s', async () => {
  cluster.holdLease('rollback run 99 by oncall', 1, 'rollback');
  const rollback = await runActionBundle(
    'rollback',
    { reason: 'second opinion', 'lock-wait': '0s', timeout: '60s' },
    { env: cluster.env, timeoutMs: 60_000 },
  );
  expect(rollback.exitCode).toBe(1);
  expect(rollback.errors.join('\n')).toContain('Another deploy or rollback holds the release');
});

test('outside a GitHub run (no run id: every run reads /runs/0) a held lease is never taken as "the same run"', async () => {
  const runZero = { ...cluster.env, GITHUB_RUN_ID: '0' };
  cluster.holdLease('https://github.com/veloz/veloz/actions/runs/0', 1, 'canary');
  const rollback = await runActionBundle(
    'rollback',
    { reason: 'local try', 'lock-wait': '0s', timeout: '60s' },
    { env: runZero, timeoutMs: 60_000 },
  );
  expect(rollback.exitCode).toBe(1);
  expect(rollback.errors.join('\n')).toContain('Another deploy or rollback holds the release');
});
