/**
 * One deploy or rollback per release at a time: a coordination.k8s.io Lease named after the release,
 * renewed while the action mutates. A run that dies stops renewing and its lease expires once another
 * run has seen it unchanged for the TTL (on its own clock, as client-go's leader election judges it:
 * the renewTime was written by another machine's clock); `force` takes over a live-looking lease whose
 * run is known to be gone.
 */
import type * as k8s from '@kubernetes/client-node';
import { monotonicNow, type Clock } from '../clock';
import { withinScope, type Kube } from './client';
import type { Fence, LockLoss } from './fence';
import { apiFailure, isConflict, isNotFound, jitteredBackoff, unlessNotFound } from './errors';
import { ResumableWatch } from './watch';

interface LockOwner {
  /** Unique per run attempt: the run URL plus attempt. */
  identity: string;
  runUrl: string;
  actor: string;
  action: string;
}

export interface HeldLock {
  /** Previous holder whose lease was taken over (expired, or forced). */
  tookOverFrom?: { identity: string; since?: string; expired: boolean; sameRun?: boolean };
  /** The claim that won followed a read finding the lease free (absent, or ours): see `onClaimable`. */
  uncontested?: boolean;
  /** Closes when the lock is lost: writes refused, helm interrupted. */
  fence: Fence;
  /** Stops renewing and deletes the lease if still ours; bounded (a hung API server cannot hold it). */
  release(): Promise<void>;
}

export class LockHeldError extends Error {
  constructor(
    readonly holder: string,
    readonly since: string | undefined,
    readonly expiresAt: string,
    readonly leaseName: string,
    /** How long this run waited for it (`lock-wait`) before giving up. */
    readonly waitedMs?: number,
  ) {
    super(
      `Release is locked by ${holder}${since ? ` since ${since}` : ''} (lease ${leaseName}, expires ${expiresAt} unless renewed)` +
        `${waitedMs ? `; still held after waiting ${Math.round(waitedMs / 1000)}s (lock-wait)` : ''}. ` +
        'Wait for that run to finish; if it is no longer running, re-run with `force: true` on the rollback action.',
    );
    this.name = 'LockHeldError';
  }
}

/** Slack after the preempted holder's renew period: its helm needs a moment to exit after SIGTERM. */
const PREEMPT_MARGIN_MS = 3_000;
/** A preempted lease with a very long TTL must not keep a rollback waiting for long. */
const MAX_PREEMPT_WAIT_MS = 60_000;
/**
 * Set on the lease by a preempted holder once its helm and writes have ended (value: its identity):
 * the run that took over starts writing then, not at the latest moment the holder could have noticed.
 */
const STOPPED_ANNOTATION = 'veloz.io/stopped-holder';
/** How long a preempted holder waits for its helm to exit (SIGKILL comes at 10 s) before giving up on saying so. */
const STOP_LIMIT_MS = 15_000;

export function leaseName(release: string): string {
  return `veloz-deploy-${release}`.slice(0, 63).replace(/-+$/, '');
}

/** Kubernetes MicroTime is RFC 3339 with exactly six fractional digits. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

interface AcquireOptions {
  namespace: string;
  release: string;
  owner: LockOwner;
  ttlMs: number;
  clock: Clock;
  force?: boolean;
  /** How long to wait for a live lease held by another run to be released or expire (0: fail at once). */
  waitMs?: number;
  log?: (line: string) => void;
  /** Jitter of the retries after a conflict (tests pin it); Math.random by default. */
  random?: () => number;
  /**
   * Called once, when a read of the lease finds it free (absent, or ours) and the claim is about to
   * be written: reads started from then on follow every write of the lease's last holder, so they
   * may run beside the claim. When that claim does not win (a conflict, a wait), `uncontested` is
   * false and such reads must be made again under the lock.
   */
  onClaimable?: () => void;
}

/** Claim or renewal conflicts (another writer between our read and write) retried this often, jittered. */
const MAX_CONFLICT_RETRIES = 4;

/** How often a waiting run reads the lease again: a released lease is seen within this. */
export const LOCK_POLL_MS = 1000;

/** The locks this process holds now: a cancelled step (SIGTERM, SIGINT) gives each of them back. */
const heldLocks = new Set<() => Promise<void>>();

/**
 * A cancelled step (GitHub sends SIGINT, then SIGTERM, on cancel or a lost runner's shutdown): every
 * lock this process holds closes its fence (helm gets SIGTERM, no further write starts), waits up to
 * `boundMs` for what is in flight to end, and deletes its Lease, so the next run — the automatic
 * rollback above all — starts at once instead of waiting out `lock-ttl`.
 */
export async function giveBackHeldLocks(boundMs = 5000): Promise<number> {
  const cancels = [...heldLocks];
  const bound = new Promise<void>((resolve) => setTimeout(resolve, boundMs).unref());
  await Promise.race([Promise.allSettled(cancels.map((cancel) => cancel())), bound]);
  return cancels.length;
}

export async function acquireReleaseLock(kube: Kube, options: AcquireOptions): Promise<HeldLock> {
  const name = leaseName(options.release);
  const ttlSeconds = Math.max(1, Math.round(options.ttlMs / 1000));
  const { writtenAt, takeover, uncontested } = await claimLease(kube, options, name, ttlSeconds);
  const held = startRenewing(kube, options, name, ttlSeconds, writtenAt, takeover?.from);
  // Expired too: a holder whose renewals failed closes its fence at its expiry; its helm needs a moment.
  if (takeover && !takeover.from.sameRun) await awaitPreemptedStop(kube, options, name, takeover);
  return Object.assign(held, { uncontested });
}

/** A lease taken from another run: whose it was, and how long that run may still need to notice. */
interface Takeover {
  from: NonNullable<HeldLock['tookOverFrom']>;
  /** The preempted holder's raw identity, as it marks the lease stopped. */
  identity: string;
  /** Its next renewal could end by then (+ margin): the longest we wait for it to stop. */
  boundMs: number;
}

/**
 * Reads the lease and writes ourselves in as holder: creating it, renewing our own, taking over an
 * expired one (or a live one with `force`), or waiting up to `lock-wait` for a live holder to let go.
 * A conflict (someone else wrote between our read and write) reads and decides again after a jittered
 * pause, so two contenders do not collide again; a bounded number of times.
 */
async function claimLease(
  kube: Kube,
  options: AcquireOptions,
  name: string,
  ttlSeconds: number,
): Promise<{ writtenAt: number; takeover?: Takeover; uncontested: boolean }> {
  const seen = new LeaseObservation(options.clock);
  const wait = new LockWait(options, name, seen);
  let leaseReads = 0;
  let claimableAt: number | undefined;
  for (let conflicts = 0; ;) {
    const existing = await readLease(kube, options.namespace, name);
    leaseReads++;
    const writtenAt = options.clock.now();
    const state = existing ? holdState(existing, options.owner.identity, seen) : undefined;
    const sameRun = existing !== undefined && heldBySameRun(existing, options.owner.runUrl);
    if (existing && state?.heldByOther && !options.force && !sameRun) {
      await wait.pause(existing, writtenAt); // throws LockHeldError once the wait is over
      conflicts = 0; // a fresh read: conflicts count from here
      continue;
    }
    const body = leaseBody(options, name, ttlSeconds, writtenAt, existing, state?.mine);
    if (claimableAt === undefined && (!existing || state?.mine)) {
      claimableAt = leaseReads;
      options.onClaimable?.();
    }
    try {
      if (!existing) await kube.coordination.createNamespacedLease({ namespace: options.namespace, body });
      else await kube.coordination.replaceNamespacedLease({ name, namespace: options.namespace, body });
    } catch (error) {
      if (!isConflict(error) || ++conflicts > MAX_CONFLICT_RETRIES) throw error;
      await options.clock.sleep(conflictPause(options, name, conflicts));
      continue;
    }
    const uncontested = claimableAt === leaseReads;
    const takenFrom = existing?.spec?.holderIdentity;
    if (!existing || !state || state.mine || !takenFrom) return { writtenAt, uncontested };
    const takeover = takeoverOf(existing, takenFrom, state.expired, seen);
    return {
      writtenAt,
      uncontested,
      takeover: sameRun ? { ...takeover, from: { ...takeover.from, sameRun } } : takeover,
    };
  }
}

function conflictPause(o: AcquireOptions, name: string, conflicts: number): number {
  const delay = jitteredBackoff(conflicts, o.random, 100, 2000);
  o.log?.(`release lock ${name} changed while we wrote it (conflict ${conflicts}); reading it again in ${delay}ms`);
  return delay;
}

/**
 * What this run has seen of a lease, on its own monotonic clock: when it first saw it and when it last
 * saw it change (holder, renewTime or resourceVersion). Expiry is judged from that, never from the
 * renewTime the holder wrote with its own clock: runners' clocks differ, by minutes on a bad day.
 */
class LeaseObservation {
  private version: string | undefined;
  private changedAt = 0;
  private changes = 0;

  constructor(readonly clock: Clock) {}

  /** Records this read; returns our clock's reading of it. */
  see(lease: k8s.V1Lease): number {
    const now = monotonicNow(this.clock);
    const version = [lease.spec?.holderIdentity, String(lease.spec?.renewTime ?? ''), lease.metadata?.resourceVersion];
    const key = JSON.stringify(version);
    if (key !== this.version) {
      this.version = key;
      this.changedAt = now;
      this.changes++;
    }
    return now;
  }

  /** On our clock: the lease's duration after we last saw it change. */
  expiresAt(lease: k8s.V1Lease): number {
    return this.changedAt + (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  }

  /** When we last saw it change, on our clock. */
  get lastChange(): number {
    return this.changedAt;
  }

  /** Seen more than one way: its holder is alive (renewing), whatever its timestamps say. */
  get changedWhileWatched(): boolean {
    return this.changes > 1;
  }
}

/**
 * Waiting for a lease another run holds: up to `lock-wait` for a holder that is alive. A lease that
 * looks abandoned by its own timestamps and has not changed since we first saw it is watched for its
 * whole duration (whatever `lock-wait`), then taken over: its timestamps may only make us wait longer,
 * never take it sooner.
 */
class LockWait {
  private readonly until: number;
  private waited = false;

  constructor(
    private readonly o: AcquireOptions,
    private readonly name: string,
    private readonly seen: LeaseObservation,
  ) {
    this.until = monotonicNow(o.clock) + (o.waitMs ?? 0);
  }

  async pause(lease: k8s.V1Lease, wallNow: number): Promise<void> {
    const now = monotonicNow(this.o.clock);
    const abandoned = !this.seen.changedWhileWatched && writtenExpiry(lease) <= wallNow;
    const until = abandoned ? Math.max(this.until, this.seen.expiresAt(lease)) : this.until;
    if (now >= until) {
      const expiresAt = wallNow + Math.max(0, this.seen.expiresAt(lease) - now);
      throw lockHeld(lease, this.name, expiresAt, this.waited ? this.o.waitMs : undefined);
    }
    if (!this.waited)
      this.o.log?.(
        abandoned
          ? `release lock ${this.name} is held by ${describeHolder(lease)}, renewed ${lease.spec?.renewTime ?? 'never'} by its clock: taken over if unchanged for ${lease.spec?.leaseDurationSeconds ?? 0}s on ours`
          : `release lock ${this.name} is held by ${describeHolder(lease)}; waiting for it`,
      );
    this.waited = true;
    await this.o.clock.sleep(Math.min(LOCK_POLL_MS, until - now));
  }
}

const RUN_URL_ANNOTATION = 'veloz.io/run-url';
/** A GitHub Actions run with a real id: outside a runner (no GITHUB_RUN_ID) every run would read `/runs/0`. */
const GITHUB_RUN_URL = /\/actions\/runs\/[1-9]\d*$/;

/**
 * A job of this same workflow run (the canary before deploy.yml's rollback job) has ended, or GitHub
 * would not have started this one after it: its lease is taken over at once.
 */
function heldBySameRun(lease: k8s.V1Lease, runUrl: string): boolean {
  return GITHUB_RUN_URL.test(runUrl) && lease.metadata?.annotations?.[RUN_URL_ANNOTATION] === runUrl;
}

function readLease(kube: Kube, namespace: string, name: string): Promise<k8s.V1Lease | undefined> {
  return unlessNotFound(kube.coordination.readNamespacedLease({ name, namespace }));
}

/** Expired: unchanged for its duration since we last saw it change, on our clock. */
function holdState(lease: k8s.V1Lease, identity: string, seen: LeaseObservation) {
  const now = seen.see(lease);
  const holder = lease.spec?.holderIdentity;
  const expired = !holder || seen.expiresAt(lease) <= now;
  const mine = holder === identity;
  return { mine, expired, heldByOther: !mine && !expired };
}

function lockHeld(lease: k8s.V1Lease, name: string, expiresAt: number, waitedMs: number | undefined): LockHeldError {
  return new LockHeldError(
    describeHolder(lease),
    String(lease.spec?.acquireTime ?? '') || undefined,
    new Date(expiresAt).toISOString(),
    name,
    waitedMs,
  );
}

/** Ours, renewed now; our own lease keeps its acquire time. Stale marks (stopped-holder) are dropped. */
function leaseBody(
  options: AcquireOptions,
  name: string,
  ttlSeconds: number,
  writtenAt: number,
  existing: k8s.V1Lease | undefined,
  mine: boolean | undefined,
): k8s.V1Lease {
  const acquired = mine ? String(existing?.spec?.acquireTime ?? '') || undefined : undefined;
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      name,
      namespace: options.namespace,
      labels: { 'app.kubernetes.io/managed-by': 'veloz-deploy-actions', 'veloz.io/release': options.release },
      annotations: {
        [RUN_URL_ANNOTATION]: options.owner.runUrl,
        'veloz.io/actor': options.owner.actor,
        'veloz.io/action': options.owner.action,
      },
      ...(existing ? { resourceVersion: existing.metadata?.resourceVersion } : {}),
    },
    spec: {
      holderIdentity: options.owner.identity,
      leaseDurationSeconds: ttlSeconds,
      acquireTime: acquired ?? microTime(writtenAt),
      renewTime: microTime(writtenAt),
    } as unknown as k8s.V1LeaseSpec,
  };
}

function takeoverOf(lease: k8s.V1Lease, identity: string, expired: boolean, seen: LeaseObservation): Takeover {
  // A holder without a lease watch sees the takeover at its next renewal (bounded by half a renew period),
  // counted from when we last saw it renew: its renewTime is on its clock, not ours.
  const renewMs = ((lease.spec?.leaseDurationSeconds ?? 0) * 1000) / 3;
  const sinceChange = monotonicNow(seen.clock) - seen.lastChange;
  const untilRenewalMs = Math.max(0, 1.5 * renewMs - sinceChange);
  return {
    from: { identity: describeHolder(lease), since: String(lease.spec?.acquireTime ?? ''), expired },
    identity,
    boundMs: Math.min(MAX_PREEMPT_WAIT_MS, untilRenewalMs + PREEMPT_MARGIN_MS),
  };
}

/**
 * A live holder interrupts its helm and stops writing when it sees the takeover: at once through its
 * lease watch (then it marks the lease stopped), or at its next renewal at the latest (a holder whose
 * watch is down, or an older release of this suite). Our first write must not land beside its last, so
 * we start at its mark, or at the renewal bound when no mark comes.
 */
async function awaitPreemptedStop(
  kube: Kube,
  options: AcquireOptions,
  name: string,
  takeover: Takeover,
): Promise<void> {
  const label = takeover.from.identity;
  options.log?.(
    `Took the release lock over from ${label}: waiting for it to stop before writing (at most ${Math.round(takeover.boundMs / 1000)}s, its next renewal).`,
  );
  const started = options.clock.now();
  const until = started + takeover.boundMs;
  for (let now = started; now < until; now = options.clock.now()) {
    const lease = await withinScope({ signal: AbortSignal.timeout(LOCK_POLL_MS * 2), noRetry: true }, () =>
      kube.coordination.readNamespacedLease({ name, namespace: options.namespace }),
    ).catch(() => undefined);
    if (lease?.metadata?.annotations?.[STOPPED_ANNOTATION] === takeover.identity) {
      options.log?.(`${label} has stopped (${Math.round((options.clock.now() - started) / 1000)}s): writing now.`);
      return;
    }
    await options.clock.sleep(Math.min(LOCK_POLL_MS, until - options.clock.now()));
  }
  options.log?.(`${label} did not mark the lease stopped; its renewal bound has passed: writing now.`);
}

/**
 * Renews the lease every third of its TTL and fences the run as soon as it cannot prove it still
 * holds it: a takeover (seen by the lease watch, or by a renewal) closes the fence at once; renewals that
 * keep failing close it when `last successful renewal + ttl` passes — the moment another run may
 * take the lease. Each renewal is bounded by half a renew period, so a hung API server cannot hold
 * the loop past the expiry, and release() is bounded too.
 */
function startRenewing(
  kube: Kube,
  o: AcquireOptions,
  name: string,
  ttlSeconds: number,
  renewedAt: number,
  tookOverFrom: HeldLock['tookOverFrom'],
): HeldLock {
  const renewal = new LeaseRenewal(kube, o, name, ttlSeconds * 1000, renewedAt);
  const loop = renewal.loop();
  const stopRenewing = async (): Promise<void> => {
    renewal.stop.abort();
    renewal.watch.stop();
    await loop;
    await renewal.stopped;
  };
  const cancel = async (): Promise<void> => {
    const ours = !kube.fence.lost;
    // Closing the fence interrupts helm and refuses every later write; the Lease goes once they ended.
    kube.fence.markLost({
      holder: 'nobody (this step was cancelled)',
      at: o.clock.now(),
      lease: name,
      namespace: o.namespace,
    });
    await kube.fence.idle(4000);
    await stopRenewing();
    if (ours) await deleteIfOurs(kube, o, name);
  };
  heldLocks.add(cancel);
  return {
    tookOverFrom,
    fence: kube.fence,
    async release() {
      heldLocks.delete(cancel);
      await stopRenewing();
      if (kube.fence.lost) return; // not ours any more: never delete another run's lease
      await deleteIfOurs(kube, o, name);
    },
  };
}

/** The renewing side of a held lock: its loop, its lease watch, and how it notices losing the lease. */
class LeaseRenewal {
  readonly stop = new AbortController();
  readonly watch: ResumableWatch<k8s.V1Lease>;
  /** Set once a takeover was seen: resolves when this run has marked the lease stopped. */
  stopped: Promise<void> | undefined;
  private readonly renewEveryMs: number;
  private readonly renewalDeadlineMs: number;
  private lastError = '';

  constructor(
    private readonly kube: Kube,
    private readonly o: AcquireOptions,
    private readonly name: string,
    private readonly ttlMs: number,
    private lastRenewal: number,
  ) {
    this.renewEveryMs = Math.max(1000, ttlMs / 3);
    this.renewalDeadlineMs = Math.round(this.renewEveryMs / 2);
    this.watch = watchForTakeover(kube, o, name, (lease) => this.takenOver(lease), this.stop.signal);
    kube.fence.guard(() =>
      o.clock.now() >= this.lastRenewal + ttlMs
        ? this.loss(
            `no one (the lease expired unrenewed${this.lastError ? `; last renewal error: ${this.lastError}` : ''})`,
            this.lastRenewal + ttlMs,
          )
        : undefined,
    );
  }

  async loop(): Promise<void> {
    const { kube, o, name, stop } = this;
    while (!stop.signal.aborted && !kube.fence.lost) {
      try {
        // Wake at the expiry too, so a holder whose renewals fail stops helm the moment the lease lapses.
        const untilExpiry = this.lastRenewal + this.ttlMs - o.clock.now();
        await o.clock.sleep(Math.max(0, Math.min(this.renewEveryMs, untilExpiry)), stop.signal);
      } catch {
        return;
      }
      if (kube.fence.lost) break;
      try {
        // A 409 is the lease changing under us (a preempted run marking it stopped): read it again, after
        // a jittered pause well inside the renew period.
        await this.renewOnce().catch(async (error: unknown) => {
          if (!isConflict(error)) throw error;
          await o.clock.sleep(jitteredBackoff(1, o.random, 100, 2000), stop.signal);
          return this.renewOnce();
        });
      } catch (error) {
        if (stop.signal.aborted) return;
        // A missed renewal is survivable until the TTL runs out; say so and keep trying.
        this.lastError = apiFailure(error).message;
        o.log?.(`could not renew release lock ${name}: ${this.lastError}`);
      }
    }
    const lost = kube.fence.lost;
    if (lost) o.log?.(`release lock ${name} lost to ${lost.holder} at ${new Date(lost.at).toISOString()}`);
  }

  private loss(holder: string, at: number): LockLoss {
    return { holder, at, lease: this.name, namespace: this.o.namespace };
  }

  /** Seen by the lease watch or a renewal: writes stop at once; the lease says so once helm has exited. */
  private takenOver(lease: k8s.V1Lease): void {
    if (this.stopped) return;
    const { kube, o, name } = this;
    kube.fence.markLost(this.loss(describeHolder(lease), o.clock.now()));
    o.log?.(`release lock ${name} was taken over by ${describeHolder(lease)}: stopping this run's writes`);
    this.watch.stop();
    this.stopped = markStopped(kube, o, name);
  }

  private async renewOnce(): Promise<void> {
    const { kube, o, name } = this;
    const sentAt = o.clock.now();
    const bound = AbortSignal.any([this.stop.signal, AbortSignal.timeout(this.renewalDeadlineMs)]);
    await withinScope({ signal: bound, noRetry: true }, async () => {
      const lease = await kube.coordination.readNamespacedLease({ name, namespace: o.namespace });
      if (lease.spec?.holderIdentity !== o.owner.identity) return this.takenOver(lease);
      if (kube.fence.lost) return; // expired meanwhile: renewing now would hide that another run could have held it
      await kube.coordination.replaceNamespacedLease({
        name,
        namespace: o.namespace,
        body: { ...lease, spec: { ...lease.spec, renewTime: microTime(sentAt) as unknown as Date } },
      });
      this.lastRenewal = sentAt;
      this.lastError = '';
    });
  }
}

/** Bounded: a hung API server cannot hold the end of a run; a lease left behind expires by itself. */
async function deleteIfOurs(kube: Kube, o: AcquireOptions, name: string): Promise<void> {
  const bound = AbortSignal.timeout(Math.min(10_000, kube.requestTimeoutMs));
  try {
    await withinScope({ signal: bound, noRetry: true }, async () => {
      const lease = await kube.coordination.readNamespacedLease({ name, namespace: o.namespace });
      if (lease.spec?.holderIdentity !== o.owner.identity) return;
      await kube.coordination.deleteNamespacedLease({
        name,
        namespace: o.namespace,
        body: { preconditions: { resourceVersion: lease.metadata?.resourceVersion } },
      });
    });
  } catch (error) {
    if (!isNotFound(error))
      o.log?.(`could not release lock ${name}: ${apiFailure(error).message} (it expires by itself)`);
  }
}

/**
 * Watches the lease so a takeover is seen when it is written, not at the next renewal (a third of the
 * TTL away). A watch that cannot be kept up leaves the renewals to notice; that is only slower.
 */
function watchForTakeover(
  kube: Kube,
  o: AcquireOptions,
  name: string,
  takenOver: (lease: k8s.V1Lease) => void,
  stopped: AbortSignal,
): ResumableWatch<k8s.V1Lease> {
  const fieldSelector = `metadata.name=${name}`;
  const seen = (lease: k8s.V1Lease): void => {
    const holder = lease.spec?.holderIdentity;
    if (holder && holder !== o.owner.identity) takenOver(lease);
  };
  const watch = new ResumableWatch<k8s.V1Lease>({
    kube,
    path: `/apis/coordination.k8s.io/v1/namespaces/${o.namespace}/leases`,
    query: { fieldSelector },
    list: async () => {
      const list = await kube.coordination.listNamespacedLease({ namespace: o.namespace, fieldSelector });
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
    },
    onSnapshot: (items) => items.forEach(seen),
    onEvent: (type, lease) => (type === 'DELETED' ? undefined : seen(lease)),
    clock: o.clock,
    deadline: Number.MAX_SAFE_INTEGER,
  });
  watch.run().catch((error: unknown) => {
    if (!stopped.aborted)
      o.log?.(
        `release lock ${name}: lease watch ended (${apiFailure(error).message}); a takeover is seen at the next renewal`,
      );
  });
  return watch;
}

/** Marks the lease stopped for the run that took it over, once this run's helm and writes have ended. */
async function markStopped(kube: Kube, o: AcquireOptions, name: string): Promise<void> {
  if (!(await kube.fence.idle(STOP_LIMIT_MS))) {
    o.log?.(
      `release lock ${name}: this run's change still ran ${STOP_LIMIT_MS / 1000}s after the takeover; the new holder waits out its own bound`,
    );
    return;
  }
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await withinScope(
        { signal: AbortSignal.timeout(Math.min(10_000, kube.requestTimeoutMs)), noRetry: true },
        async () => {
          const lease = await kube.coordination.readNamespacedLease({ name, namespace: o.namespace });
          const annotations = { ...lease.metadata?.annotations, [STOPPED_ANNOTATION]: o.owner.identity };
          await kube.coordination.replaceNamespacedLease({
            name,
            namespace: o.namespace,
            body: { ...lease, metadata: { ...lease.metadata, annotations } },
          });
        },
      );
      return;
    } catch (error) {
      if (isConflict(error)) continue; // the new holder renewed meanwhile
      if (!isNotFound(error))
        // not found: the new holder has finished already
        o.log?.(
          `release lock ${name}: could not mark the lease stopped (${apiFailure(error).message}); the new holder waits out its own bound`,
        );
      return;
    }
  }
}

/** When the holder's own timestamps say it expires: a hint only (its clock), never a reason to take it sooner. */
function writtenExpiry(lease: k8s.V1Lease): number {
  const renewed = Date.parse(String(lease.spec?.renewTime ?? lease.spec?.acquireTime ?? ''));
  const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  return Number.isNaN(renewed) ? 0 : renewed + duration;
}

function describeHolder(lease: k8s.V1Lease): string {
  const a = lease.metadata?.annotations ?? {};
  const who = a['veloz.io/actor'] ? ` by ${a['veloz.io/actor']}` : '';
  const what = a['veloz.io/action'] ? `${a['veloz.io/action']} ` : '';
  return `${what}run ${a[RUN_URL_ANNOTATION] ?? lease.spec?.holderIdentity ?? 'unknown'}${who}`;
}
