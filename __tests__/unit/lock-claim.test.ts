/**
 * acquireReleaseLock's `onClaimable` and `uncontested` (issue 30): the rollback reads what it will
 * change beside the lock claim, so the claim says when those reads began after every write of the
 * lease's last holder — the lease read free (absent, or ours) and that very claim won. A claim that
 * waits for a holder, takes one over or loses a race leaves its reads to be made again under the lock.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { startSandbox, type Sandbox } from '@veloz/sandbox';
import { systemClock } from '@veloz/shared/clock';
import { connectKube, type Kube } from '@veloz/shared/kube/client';
import { acquireReleaseLock, type HeldLock } from '@veloz/shared/kube/lock';

let sb: Sandbox;
let kube: Kube;
const LEASE = 'veloz-deploy-veloz';

beforeAll(async () => {
  sb = await startSandbox({ engines: false, podStartupDelayMs: 50 });
  kube = await connectKube(sb.kubeconfig);
}, 60_000);
afterAll(async () => sb?.stop());
beforeEach(() => {
  sb.faults.clear();
  if (sb.get('leases', 'veloz', LEASE)) sb.remove('leases', 'veloz', LEASE);
});

function holdLease(holder: string, renewedSecondsAgo: number): void {
  const time = new Date(Date.now() - renewedSecondsAgo * 1000).toISOString().replace('Z', '000Z');
  sb.apply({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: LEASE, namespace: 'veloz', annotations: { 'veloz.io/run-url': holder } },
    spec: { holderIdentity: holder, leaseDurationSeconds: 3, acquireTime: time, renewTime: time },
  });
}

/** Claims the lock, noting for each `onClaimable` call whether the lease was ours yet at that moment. */
async function claim(o: { force?: boolean; waitMs?: number } = {}): Promise<{ lock: HeldLock; calls: string[] }> {
  const calls: string[] = [];
  const lock = await acquireReleaseLock(kube, {
    namespace: 'veloz',
    release: 'veloz',
    owner: { identity: 'run-2#rollback', runUrl: 'run-2', actor: 'oncall', action: 'rollback' },
    ttlMs: 3_000,
    clock: systemClock,
    force: o.force,
    waitMs: o.waitMs,
    onClaimable: () => {
      const lease = sb.get('leases', 'veloz', LEASE) as { spec?: { holderIdentity?: string } } | undefined;
      calls.push(lease ? `lease held by ${lease.spec?.holderIdentity}` : 'no lease');
    },
  });
  return { lock, calls };
}

describe('claiming the release lock beside the reads', () => {
  test('a free lease: called once, before the lease is written; uncontested', async () => {
    const { lock, calls } = await claim();
    expect(calls).toEqual(['no lease']);
    expect(lock.uncontested).toBe(true);
    expect(sb.get('leases', 'veloz', LEASE)).toMatchObject({ spec: { holderIdentity: 'run-2#rollback' } });
    await lock.release();
  });

  test('released while this run waits: called once the lease is gone, and the claim is uncontested', async () => {
    holdLease('run-1', 1);
    const pending = claim({ waitMs: 30_000 });
    setTimeout(() => sb.remove('leases', 'veloz', LEASE), 1200);
    const { lock, calls } = await pending;
    expect(calls).toEqual(['no lease']);
    expect(lock.uncontested).toBe(true);
    await lock.release();
  });

  test('a live holder taken over (force): never called, not uncontested', async () => {
    holdLease('run-1', 1);
    const { lock, calls } = await claim({ force: true, waitMs: 0 });
    expect(calls).toEqual([]);
    expect(lock.uncontested).toBe(false);
    expect(lock.tookOverFrom).toMatchObject({ expired: false });
    await lock.release();
  }, 30_000);

  test('an expired lease taken over: never called (its holder may have written until it lapsed)', async () => {
    holdLease('run-1', 120);
    const { lock, calls } = await claim();
    expect(calls).toEqual([]);
    expect(lock.uncontested).toBe(false);
    expect(lock.tookOverFrom).toMatchObject({ expired: true });
    await lock.release();
  });

  test('another run creates the lease between our read and our write: the claim is contested', async () => {
    // The first create conflicts (409, as when another run got there first); the claim reads again.
    sb.faults.add({ verbs: ['create'], resources: ['leases'], action: { type: 'status', code: 409 }, count: 1 });
    const { lock, calls } = await claim();
    expect(calls).toEqual(['no lease']);
    expect(lock.uncontested).toBe(false);
    await lock.release();
  });
});
