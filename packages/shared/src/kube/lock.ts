/**
 * One deploy or rollback per release at a time: a coordination.k8s.io Lease named after the release,
 * renewed while the action mutates. A run that dies stops renewing and its lease expires after the TTL;
 * `force` takes over a live-looking lease whose run is known to be gone.
 */
import type * as k8s from '@kubernetes/client-node';
import type { Clock } from '../clock';
import { withinScope, type Kube } from './client';
import type { Fence, LockLoss } from './fence';
import { apiFailure, isConflict, isNotFound, unlessNotFound } from './errors';
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

function leaseName(release: string): string {
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
  /**
   * Called once, when a read of the lease finds it free (absent, or ours) and the claim is about to
   * be written: reads started from then on follow every write of the lease's last holder, so they
   * may run beside the claim. When that claim does not win (a conflict, a wait), `uncontested` is
   * false and such reads must be made again under the lock.
   */
  onClaimable?: () => void;
}

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
  if (takeover && !takeover.from.expired && !takeover.from.sameRun)
    await awaitPreemptedStop(kube, options, name, takeover);
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
 * A conflict (someone else wrote between our read and write) reads and decides again.
 */
async function claimLease(
  kube: Kube,
  options: AcquireOptions,
  name: string,
  ttlSeconds: number,
): Promise<{ writtenAt: number; takeover?: Takeover; uncontested: boolean }> {
  const waitUntil = options.clock.now() + (options.waitMs ?? 0);
  let waited = false;
  let leaseReads = 0;
  let claimableAt: number | undefined;
  for (let attempt = 0; ; attempt++) {
    const existing = await readLease(kube, options.namespace, name);
    leaseReads++;
    const writtenAt = options.clock.now();
    const state = existing ? holdState(existing, options.owner.identity, writtenAt) : undefined;
    const sameRun = existing !== undefined && heldBySameRun(existing, options.owner.runUrl);
    if (existing && state?.heldByOther && !options.force && !sameRun) {
      if (writtenAt >= waitUntil) throw lockHeld(existing, name, waited ? options.waitMs : undefined);
      // Another run (a manual rollback) holds it: wait for its release, up to `lock-wait`.
      if (!waited) options.log?.(`release lock ${name} is held by ${describeHolder(existing)}; waiting for it`);
      waited = true;
      await options.clock.sleep(Math.min(LOCK_POLL_MS, waitUntil - writtenAt));
      attempt = -1; // a fresh read: conflicts count from here
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
      if (isConflict(error) && attempt < 3) continue;
      throw error;
    }
    const uncontested = claimableAt === leaseReads;
    const takenFrom = existing?.spec?.holderIdentity;
    if (!existing || !state || state.mine || !takenFrom) return { writtenAt, uncontested };
    const takeover = takeoverOf(existing, takenFrom, state.expired, writtenAt);
    return {
      writtenAt,
      uncontested,
      takeover: sameRun ? { ...takeover, from: { ...takeover.from, sameRun } } : takeover,
    };
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

function holdState(lease: k8s.V1Lease, identity: string, now: number) {
  const holder = lease.spec?.holderIdentity;
  const expired = !holder || expiry(lease) <= now;
  const mine = holder === identity;
  return { mine, expired, heldByOther: !mine && !expired };
}

function lockHeld(lease: k8s.V1Lease, name: string, waitedMs: number | undefined): LockHeldError {
  return new LockHeldError(
    describeHolder(lease),
    String(lease.spec?.acquireTime ?? '') || undefined,
    new Date(expiry(lease)).toISOString(),
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

function takeoverOf(lease: k8s.V1Lease, identity: string, expired: boolean, now: number): Takeover {
  // A holder without a lease watch sees the takeover at its next renewal (bounded by half a renew period).
  const renewMs = ((lease.spec?.leaseDurationSeconds ?? 0) * 1000) / 3;
  const renewed = Date.parse(String(lease.spec?.renewTime ?? ''));
  const untilRenewalMs = expired || Number.isNaN(renewed) ? 0 : Math.max(0, renewed + 1.5 * renewMs - now);
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
        // A 409 is the lease changing under us (a preempted run marking it stopped): read it again.
        await this.renewOnce().catch((error: unknown) =>
          isConflict(error) ? this.renewOnce() : Promise.reject(error),
        );
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

function expiry(lease: k8s.V1Lease): number {
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
