/**
 * Lease expiry judged on the reader's own clock (issue 27): from source against a sandbox API server,
 * every run on its own ManualClock. A holder's renewTime is written by another machine's clock, so a
 * lease is expired only once this reader has seen it unchanged for its duration; its timestamps may
 * make a reader wait longer, never take it sooner. Conflicting claims retry after jittered, bounded pauses.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { startSandbox, type Sandbox } from '@veloz/sandbox';
import { ManualClock } from '@veloz/harness/clock';
import { connectKube, type Kube } from '@veloz/shared/kube/client';
import { jitteredBackoff } from '@veloz/shared/kube/errors';
import { acquireReleaseLock, LockHeldError, type HeldLock } from '@veloz/shared/kube/lock';

let sb: Sandbox;
const LEASE = 'veloz-deploy-veloz';
const T = Date.parse('2026-11-30T03:00:00Z');
const TEN_MINUTES = 10 * 60_000;

beforeAll(async () => {
  sb = await startSandbox({ engines: false, podStartupDelayMs: 50 });
});
afterAll(async () => sb.stop());
beforeEach(() => {
  sb.faults.clear();
  if (sb.get('leases', 'veloz', LEASE)) sb.remove('leases', 'veloz', LEASE);
});

const microTime = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');

function acquire(kube: Kube, clock: SteppedClock, n: string, waitMs: number, logs: string[] = []): Promise<HeldLock> {
  return acquireReleaseLock(kube, {
    namespace: 'veloz',
    release: 'veloz',
    owner: {
      identity: `run-${n}`,
      runUrl: `https://github.com/veloz/veloz/actions/runs/${n}`,
      actor: 'dev',
      action: 'canary',
    },
    ttlMs: 30_000,
    clock,
    waitMs,
    log: (line) => logs.push(line),
  });
}

/** A lease left by a run that is gone, stamped by a clock `skewMs` off ours. */
function deadLease(skewMs: number): void {
  sb.apply({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: LEASE, namespace: 'veloz', annotations: { 'veloz.io/run-url': 'run-gone' } },
    spec: {
      holderIdentity: 'run-gone',
      leaseDurationSeconds: 30,
      acquireTime: microTime(T + skewMs),
      renewTime: microTime(T + skewMs),
    },
  });
}

const holder = () =>
  (sb.get('leases', 'veloz', LEASE) as { spec?: { holderIdentity?: string } } | undefined)?.spec?.holderIdentity;
const settle = (ms = 20) => new Promise((r) => setTimeout(r, ms));

/** Tracks a pending acquire: resolved, rejected, or still waiting. */
function watchOutcome(pending: Promise<HeldLock>) {
  const outcome: { lock?: HeldLock; error?: unknown } = {};
  pending.then((lock) => (outcome.lock = lock)).catch((error: unknown) => (outcome.error = error));
  return outcome;
}

/** A ManualClock that knows whether something sleeps on it: time moves only once the run waits. */
class SteppedClock extends ManualClock {
  pending = 0;
  override sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.pending++;
    return super.sleep(ms, signal).finally(() => this.pending--);
  }
}

/** Moves the given clocks forward together, a step at a time, each once its run is waiting on it. */
async function advance(clocks: SteppedClock[], ms: number, step = 1000): Promise<void> {
  for (let done = 0; done < ms; done += step) {
    for (let i = 0; i < 100 && !clocks.every((c) => c.pending > 0); i++) await settle();
    for (const clock of clocks) await clock.advance(Math.min(step, ms - done));
    await settle(5);
  }
}

describe('lease expiry on our own clock', () => {
  test('a live holder whose clock is 10 minutes behind is not taken over: it is seen renewing', async () => {
    const holderClock = new SteppedClock(T - TEN_MINUTES);
    const ours = new SteppedClock(T);
    const a = await connectKube(sb.kubeconfig);
    const held = await acquire(a, holderClock, '1', 0);
    const b = await connectKube(sb.kubeconfig);
    const logs: string[] = [];
    // by its renewTime it expired 9.5 minutes ago; the automatic rollback (lock-wait 0s) does not trust that
    const outcome = watchOutcome(acquire(b, ours, '2', 0, logs));
    await settle(300);
    expect(outcome).toEqual({});
    expect(logs.join('\n')).toContain('taken over if unchanged for 30s on ours');
    // the holder renews (every 10 s of its clock), seen at our next look: alive, refused
    // (a second at a time until it is seen, well before the 30 s an unchanged lease would take)
    for (let s = 0; s < 25 && !outcome.error; s++) await advance([holderClock, ours], 1_000);
    for (let i = 0; i < 100 && !outcome.error; i++) await settle();
    expect(outcome.error).toBeInstanceOf(LockHeldError);
    expect(holder()).toBe('run-1');
    expect(a.fence.lost).toBeUndefined();
    await held.release();
  });

  test.each([
    ['10 minutes in the past', -TEN_MINUTES, 0],
    ['10 minutes in the future', TEN_MINUTES, 60_000],
  ])(
    'an unchanged lease stamped %s is taken over once its duration has passed on our clock since we first saw it',
    async (_, skewMs, waitMs) => {
      deadLease(skewMs);
      const ours = new SteppedClock(T);
      const b = await connectKube(sb.kubeconfig);
      const logs: string[] = [];
      const outcome = watchOutcome(acquire(b, ours, '2', waitMs, logs));
      await advance([ours], 29_999);
      await settle(200);
      expect(outcome).toEqual({});
      expect(holder()).toBe('run-gone');
      await advance([ours], 1);
      for (let i = 0; i < 100 && holder() !== 'run-2'; i++) await settle();
      // a read that was late (a loaded machine) is only later, never sooner
      for (let s = 0; s < 5 && holder() !== 'run-2'; s++) await advance([ours], 1_000).then(() => settle(50));
      expect(holder()).toBe('run-2');
      // even expired, the takeover waits for a stop mark or a short bound before its first write
      const waitsForStop = () => /waiting for it to stop before writing \(at most 3s/.test(logs.join('\n'));
      for (let i = 0; i < 100 && !waitsForStop(); i++) await settle();
      expect(waitsForStop()).toBe(true);
      for (let s = 0; s < 10 && !outcome.lock; s++) await advance([ours], 1_000).then(() => settle(50));
      expect(outcome.lock?.tookOverFrom).toMatchObject({ identity: 'run run-gone', expired: true });
      await outcome.lock?.release();
    },
  );

  test('a lease that changed while we watched is waited for up to lock-wait, then refused naming our expiry', async () => {
    deadLease(-TEN_MINUTES);
    const ours = new SteppedClock(T);
    const b = await connectKube(sb.kubeconfig);
    const outcome = watchOutcome(acquire(b, ours, '2', 5_000));
    await advance([ours], 2_000);
    deadLease(-TEN_MINUTES + 2_000); // renewed, by its clock still long ago
    for (let s = 0; s < 8 && !outcome.error; s++) await advance([ours], 1_000).then(() => settle(50));
    const error = outcome.error as LockHeldError;
    expect(error).toBeInstanceOf(LockHeldError);
    // 30 s after we saw it change (at our next look after 03:00:02 on our clock), not after its renewTime (02:50:02)
    expect(Date.parse(error.expiresAt) - T).toBeGreaterThanOrEqual(32_000);
    expect(Date.parse(error.expiresAt) - T).toBeLessThanOrEqual(36_000);
    expect(holder()).toBe('run-gone');
  });
});

describe('conflicting claims', () => {
  test('retry after jittered pauses that differ between contenders and grow within a bound, then give up', async () => {
    sb.faults.add({ verbs: ['create'], resources: ['leases'], action: { type: 'status', code: 409 } });
    const runs = ['1', '2'].map((n) => {
      const clock = new SteppedClock(T);
      const logs: string[] = [];
      const pauses: number[] = [];
      const sleep = clock.sleep.bind(clock);
      clock.sleep = (ms, signal) => (pauses.push(ms), sleep(ms, signal));
      return { clock, logs, pauses, n };
    });
    const kubes = await Promise.all(runs.map(() => connectKube(sb.kubeconfig)));
    const outcomes = runs.map((r, i) => watchOutcome(acquire(kubes[i]!, r.clock, r.n, 0, r.logs)));
    for (let step = 0; step < 100 && !outcomes.every((o) => o.error); step++)
      await advance(
        runs.filter((_, i) => !outcomes[i]!.error).map((r) => r.clock), // a contender that gave up sleeps no more
        100,
        100,
      );
    for (const [i, run] of runs.entries()) {
      expect(outcomes[i]!.error).toBeDefined(); // the fifth conflict is the error: no endless retrying
      expect(run.pauses).toHaveLength(4);
      run.pauses.forEach((ms, k) => {
        const ceiling = 100 * 2 ** k;
        expect(ms).toBeGreaterThanOrEqual(ceiling / 2);
        expect(ms).toBeLessThanOrEqual(ceiling);
      });
      expect(run.logs[0]).toMatch(/changed while we wrote it \(conflict 1\); reading it again in \d+ms/);
    }
    expect(runs[0]!.pauses).not.toEqual(runs[1]!.pauses);
  });

  test('the backoff of every API retry is jittered between half and all of its step, and capped', () => {
    expect(jitteredBackoff(1, () => 0)).toBe(100);
    expect(jitteredBackoff(1, () => 1)).toBe(200);
    expect(jitteredBackoff(3, () => 0.5)).toBe(600);
    expect(jitteredBackoff(20, () => 1)).toBe(5000);
    expect(jitteredBackoff(20, () => 0)).toBe(2500);
  });
});
