/**
 * acquireReleaseLock's `waitMs` (the `lock-wait` input), on the source against a sandbox API
 * server: a held lease is read again until it is released or the wait ends; force never waits.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { startSandbox, type Sandbox } from '@veloz/sandbox';
import { systemClock } from '@veloz/shared/clock';
import { connectKube, type Kube } from '@veloz/shared/kube/client';
import { acquireReleaseLock, LockHeldError, LOCK_POLL_MS } from '@veloz/shared/kube/lock';

let sb: Sandbox;
let kube: Kube;

beforeAll(async () => {
  sb = await startSandbox({ podStartupDelayMs: 100, probeIntervalMs: 100, engineSyntheticRps: 0 });
  kube = await connectKube(sb.kubeconfig);
}, 60_000);
afterAll(async () => sb?.stop());
beforeEach(() => {
  if (sb.get('leases', 'veloz', 'veloz-deploy-veloz')) sb.remove('leases', 'veloz', 'veloz-deploy-veloz');
  sb.journal.clear();
});

function holdLease(holder: string, leaseDurationSeconds = 120): void {
  const time = new Date(Date.now() - 1000).toISOString().replace('Z', '000Z');
  sb.apply({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name: 'veloz-deploy-veloz',
      namespace: 'veloz',
      annotations: { 'veloz.io/run-url': holder, 'veloz.io/actor': 'oncall', 'veloz.io/action': 'rollback' },
    },
    spec: { holderIdentity: holder, leaseDurationSeconds, acquireTime: time, renewTime: time },
  });
}

const acquire = (waitMs: number, force = false) =>
  acquireReleaseLock(kube, {
    namespace: 'veloz',
    release: 'veloz',
    owner: { identity: 'run-2#canary', runUrl: 'run-2', actor: 'deployer', action: 'canary canary' },
    ttlMs: 30_000,
    clock: systemClock,
    force,
    waitMs,
  });

const leaseReads = () => sb.journal.list({ resource: 'leases', verb: 'get' }).length;

describe('lock-wait', () => {
  test('0: fails at the first read, naming the holder', async () => {
    holdLease('run-1');
    const error = await acquire(0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockHeldError);
    expect((error as LockHeldError).message).toContain('rollback run run-1 by oncall');
    expect((error as LockHeldError).waitedMs).toBeUndefined();
    expect(leaseReads()).toBe(1);
  });

  test('a held lease is read again every poll until the wait ends, then the error says how long', async () => {
    holdLease('run-1');
    const error = (await acquire(2500).catch((e: unknown) => e)) as LockHeldError;
    expect(error).toBeInstanceOf(LockHeldError);
    expect(error.waitedMs).toBe(2500);
    expect(error.message).toContain('still held after waiting 3s (lock-wait)');
    expect(leaseReads()).toBeGreaterThanOrEqual(Math.floor(2500 / LOCK_POLL_MS));
    expect(sb.journal.list({ resource: 'leases' }).filter((r) => r.verb !== 'get')).toEqual([]);
  });

  test('released during the wait: taken, from nobody', async () => {
    holdLease('run-1');
    const pending = acquire(30_000);
    setTimeout(() => sb.remove('leases', 'veloz', 'veloz-deploy-veloz'), 1500);
    const lock = await pending;
    expect(lock.tookOverFrom).toBeUndefined();
    expect(sb.get('leases', 'veloz', 'veloz-deploy-veloz')).toMatchObject({ spec: { holderIdentity: 'run-2#canary' } });
    await lock.release();
  });

  test('force takes it over at once, whatever the wait', async () => {
    // A short lease: the takeover then waits out a short renewal bound for a holder that never marks.
    holdLease('run-1', 6);
    const lock = await acquire(30_000, true);
    expect(lock.tookOverFrom).toMatchObject({ identity: 'rollback run run-1 by oncall', expired: false });
    // One read, then the takeover: no polling for the holder to let go (the fencing pause that follows
    // the takeover, for the old holder to see it, is the lock's own and tested in lock.test.ts).
    const first = sb.journal.list({ resource: 'leases' }).slice(0, 2);
    expect(first.map((r) => r.verb)).toEqual(['get', 'update']);
    await lock.release();
  });
});
