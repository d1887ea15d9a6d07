/**
 * One deploy or rollback per release at a time: a coordination.k8s.io Lease named after the release,
 * renewed while the action mutates. A run that dies stops renewing and its lease expires after the TTL;
 * `force` takes over a live-looking lease whose run is known to be gone.
 */
import type * as k8s from '@kubernetes/client-node';
import type { Clock } from '../clock';
import { withinScope, type Kube } from './client';
import type { Fence, LockLoss } from './fence';
import { apiFailure, isConflict, isNotFound } from './errors';

export interface LockOwner {
  /** Unique per run attempt: the run URL plus attempt. */
  identity: string;
  runUrl: string;
  actor: string;
  action: string;
}

export interface HeldLock {
  /** Previous holder whose lease was taken over (expired, or forced). */
  tookOverFrom?: { identity: string; since?: string; expired: boolean };
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

export function leaseName(release: string): string {
  return `veloz-deploy-${release}`.slice(0, 63).replace(/-+$/, '');
}

/** Kubernetes MicroTime is RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
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
}

/** How often a waiting run reads the lease again: a released lease is seen within this. */
export const LOCK_POLL_MS = 1000;

export async function acquireReleaseLock(kube: Kube, options: AcquireOptions): Promise<HeldLock> {
  const name = leaseName(options.release);
  const ttlSeconds = Math.max(1, Math.round(options.ttlMs / 1000));
  const spec = (acquired?: string): k8s.V1LeaseSpec =>
    ({
      holderIdentity: options.owner.identity,
      leaseDurationSeconds: ttlSeconds,
      acquireTime: acquired ?? microTime(writtenAt),
      renewTime: microTime(writtenAt),
    }) as unknown as k8s.V1LeaseSpec;
  const metadata = (): k8s.V1ObjectMeta => ({
    name,
    namespace: options.namespace,
    labels: { 'app.kubernetes.io/managed-by': 'veloz-deploy-actions', 'veloz.io/release': options.release },
    annotations: {
      'veloz.io/run-url': options.owner.runUrl,
      'veloz.io/actor': options.owner.actor,
      'veloz.io/action': options.owner.action,
    },
  });

  let tookOverFrom: HeldLock['tookOverFrom'];
  const waitUntil = options.clock.now() + (options.waitMs ?? 0);
  let waited = false;
  let preemptedRenewMs = 0;
  let writtenAt = options.clock.now();
  for (let attempt = 0; ; attempt++) {
    let existing: k8s.V1Lease | undefined;
    try {
      existing = await kube.coordination.readNamespacedLease({ name, namespace: options.namespace });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    try {
      writtenAt = options.clock.now();
      if (!existing) {
        await kube.coordination.createNamespacedLease({
          namespace: options.namespace,
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: metadata(), spec: spec() },
        });
      } else {
        const holder = existing.spec?.holderIdentity;
        const expiresAt = expiry(existing);
        const expired = !holder || expiresAt <= options.clock.now();
        const mine = holder === options.owner.identity;
        if (!mine && !expired && !options.force) {
          const now = options.clock.now();
          if (now < waitUntil) {
            // Another run (a manual rollback) holds it: wait for its release, up to `lock-wait`.
            if (!waited) options.log?.(`release lock ${name} is held by ${describeHolder(existing)}; waiting for it`);
            waited = true;
            await options.clock.sleep(Math.min(LOCK_POLL_MS, waitUntil - now));
            attempt = -1; // a fresh read: conflicts count from here
            continue;
          }
          throw new LockHeldError(
            describeHolder(existing),
            String(existing.spec?.acquireTime ?? '') || undefined,
            new Date(expiresAt).toISOString(),
            name,
            waited ? options.waitMs : undefined,
          );
        }
        if (!mine && holder) {
          tookOverFrom = {
            identity: describeHolder(existing),
            since: String(existing.spec?.acquireTime ?? ''),
            expired,
          };
          // Its next renewal (bounded by half a renew period) is when it sees the takeover.
          const renewMs = ((existing.spec?.leaseDurationSeconds ?? 0) * 1000) / 3;
          const renewed = Date.parse(String(existing.spec?.renewTime ?? ''));
          preemptedRenewMs =
            expired || Number.isNaN(renewed) ? 0 : Math.max(0, renewed + 1.5 * renewMs - options.clock.now());
        }
        await kube.coordination.replaceNamespacedLease({
          name,
          namespace: options.namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { ...metadata(), resourceVersion: existing.metadata?.resourceVersion },
            spec: spec(mine ? String(existing.spec?.acquireTime ?? '') || undefined : undefined),
          },
        });
      }
      break;
    } catch (error) {
      // Someone else created or renewed it between our read and write: read again and decide again.
      if ((isConflict(error) || apiFailure(error).code === 409) && attempt < 3) continue;
      throw error;
    }
  }

  const held = startRenewing(kube, options, name, ttlSeconds, writtenAt, tookOverFrom);
  if (tookOverFrom && !tookOverFrom.expired) {
    // A live holder sees the takeover at its next renewal (at most one renew period away) and then
    // interrupts its helm and stops writing: let it, so our first write cannot land beside its last.
    const waitMs = Math.min(MAX_PREEMPT_WAIT_MS, preemptedRenewMs + PREEMPT_MARGIN_MS);
    options.log?.(
      `Took the release lock over from ${tookOverFrom?.identity}: waiting ${Math.round(waitMs / 1000)}s (until its next renewal) for it to stop before writing.`,
    );
    await options.clock.sleep(waitMs);
  }
  return held;
}

/**
 * Renews the lease every third of its TTL and fences the run as soon as it cannot prove it still
 * holds it: a renewal that finds another holder (a takeover) closes the fence at once; renewals that
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
  const stop = new AbortController();
  const ttlMs = ttlSeconds * 1000;
  const renewEveryMs = Math.max(1000, ttlMs / 3);
  const renewalDeadlineMs = Math.round(renewEveryMs / 2);
  let lastRenewal = renewedAt;
  let lastError = '';
  const loss = (holder: string, at: number): LockLoss => ({ holder, at, lease: name, namespace: o.namespace });
  kube.fence.guard(() =>
    o.clock.now() >= lastRenewal + ttlMs
      ? loss(
          `no one (the lease expired unrenewed${lastError ? `; last renewal error: ${lastError}` : ''})`,
          lastRenewal + ttlMs,
        )
      : undefined,
  );
  const renewOnce = async (): Promise<void> => {
    const sentAt = o.clock.now();
    const bound = AbortSignal.any([stop.signal, AbortSignal.timeout(renewalDeadlineMs)]);
    await withinScope({ signal: bound, noRetry: true }, async () => {
      const lease = await kube.coordination.readNamespacedLease({ name, namespace: o.namespace });
      if (lease.spec?.holderIdentity !== o.owner.identity) {
        kube.fence.markLost(loss(describeHolder(lease), o.clock.now()));
        o.log?.(`release lock ${name} was taken over by ${describeHolder(lease)}: stopping this run's writes`);
        return;
      }
      if (kube.fence.lost) return; // expired meanwhile: renewing now would hide that another run could have held it
      await kube.coordination.replaceNamespacedLease({
        name,
        namespace: o.namespace,
        body: { ...lease, spec: { ...lease.spec, renewTime: microTime(sentAt) as unknown as Date } },
      });
      lastRenewal = sentAt;
      lastError = '';
    });
  };
  const loop = (async () => {
    while (!stop.signal.aborted && !kube.fence.lost) {
      try {
        // Wake at the expiry too, so a holder whose renewals fail stops helm the moment the lease lapses.
        await o.clock.sleep(Math.max(0, Math.min(renewEveryMs, lastRenewal + ttlMs - o.clock.now())), stop.signal);
      } catch {
        return;
      }
      if (kube.fence.lost) break;
      try {
        await renewOnce();
      } catch (error) {
        if (stop.signal.aborted) return;
        // A missed renewal is survivable until the TTL runs out; say so and keep trying.
        lastError = apiFailure(error).message;
        o.log?.(`could not renew release lock ${name}: ${lastError}`);
      }
    }
    const lost = kube.fence.lost;
    if (lost) o.log?.(`release lock ${name} lost to ${lost.holder} at ${new Date(lost.at).toISOString()}`);
  })();

  return {
    tookOverFrom,
    fence: kube.fence,
    async release() {
      stop.abort();
      await loop;
      if (kube.fence.lost) return; // not ours any more: never delete another run's lease
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
    },
  };
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
  return `${what}run ${a['veloz.io/run-url'] ?? lease.spec?.holderIdentity ?? 'unknown'}${who}`;
}
