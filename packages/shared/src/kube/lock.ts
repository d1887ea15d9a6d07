/**
 * One deploy or rollback per release at a time: a coordination.k8s.io Lease named after the release,
 * renewed while the action mutates. A run that dies stops renewing and its lease expires after the TTL;
 * `force` takes over a live-looking lease whose run is known to be gone.
 */
import type * as k8s from '@kubernetes/client-node';
import type { Clock } from '../clock';
import type { Kube } from './client';
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

export async function acquireReleaseLock(kube: Kube, o: AcquireOptions): Promise<HeldLock> {
  const name = leaseName(o.release);
  const ttlSeconds = Math.max(1, Math.round(o.ttlMs / 1000));
  const spec = (acquired?: string): k8s.V1LeaseSpec =>
    ({
      holderIdentity: o.owner.identity,
      leaseDurationSeconds: ttlSeconds,
      acquireTime: acquired ?? microTime(o.clock.now()),
      renewTime: microTime(o.clock.now()),
    }) as unknown as k8s.V1LeaseSpec;
  const metadata = (): k8s.V1ObjectMeta => ({
    name,
    namespace: o.namespace,
    labels: { 'app.kubernetes.io/managed-by': 'veloz-deploy-actions', 'veloz.io/release': o.release },
    annotations: {
      'veloz.io/run-url': o.owner.runUrl,
      'veloz.io/actor': o.owner.actor,
      'veloz.io/action': o.owner.action,
    },
  });

  let tookOverFrom: HeldLock['tookOverFrom'];
  const waitUntil = o.clock.now() + (o.waitMs ?? 0);
  let waited = false;
  for (let attempt = 0; ; attempt++) {
    let existing: k8s.V1Lease | undefined;
    try {
      existing = await kube.coordination.readNamespacedLease({ name, namespace: o.namespace });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    try {
      if (!existing) {
        await kube.coordination.createNamespacedLease({
          namespace: o.namespace,
          body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: metadata(), spec: spec() },
        });
      } else {
        const holder = existing.spec?.holderIdentity;
        const expiresAt = expiry(existing);
        const expired = !holder || expiresAt <= o.clock.now();
        const mine = holder === o.owner.identity;
        if (!mine && !expired && !o.force) {
          const now = o.clock.now();
          if (now < waitUntil) {
            // Another run (a manual rollback) holds it: wait for its release, up to `lock-wait`.
            if (!waited) o.log?.(`release lock ${name} is held by ${describeHolder(existing)}; waiting for it`);
            waited = true;
            await o.clock.sleep(Math.min(LOCK_POLL_MS, waitUntil - now));
            attempt = -1; // a fresh read: conflicts count from here
            continue;
          }
          throw new LockHeldError(
            describeHolder(existing),
            String(existing.spec?.acquireTime ?? '') || undefined,
            new Date(expiresAt).toISOString(),
            name,
            waited ? o.waitMs : undefined,
          );
        }
        if (!mine && holder)
          tookOverFrom = {
            identity: describeHolder(existing),
            since: String(existing.spec?.acquireTime ?? ''),
            expired,
          };
        await kube.coordination.replaceNamespacedLease({
          name,
          namespace: o.namespace,
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

  return startRenewing(kube, o, name, ttlSeconds, tookOverFrom);
}

function startRenewing(
  kube: Kube,
  o: AcquireOptions,
  name: string,
  ttlSeconds: number,
  tookOverFrom: HeldLock['tookOverFrom'],
): HeldLock {
  const stop = new AbortController();
  const renewEveryMs = Math.max(1000, (ttlSeconds * 1000) / 3);
  const loop = (async () => {
    while (!stop.signal.aborted) {
      try {
        await o.clock.sleep(renewEveryMs, stop.signal);
      } catch {
        return;
      }
      try {
        const lease = await kube.coordination.readNamespacedLease({ name, namespace: o.namespace });
        if (lease.spec?.holderIdentity !== o.owner.identity) {
          o.log?.(`release lock ${name} was taken over by ${describeHolder(lease)}`);
          return;
        }
        await kube.coordination.replaceNamespacedLease({
          name,
          namespace: o.namespace,
          body: { ...lease, spec: { ...lease.spec, renewTime: microTime(o.clock.now()) as unknown as Date } },
        });
      } catch (error) {
        // A missed renewal is survivable (the TTL is three renewals long); say so and keep trying.
        o.log?.(`could not renew release lock ${name}: ${apiFailure(error).message}`);
      }
    }
  })();

  return {
    tookOverFrom,
    async release() {
      stop.abort();
      await loop;
      try {
        const lease = await kube.coordination.readNamespacedLease({ name, namespace: o.namespace });
        if (lease.spec?.holderIdentity !== o.owner.identity) return;
        await kube.coordination.deleteNamespacedLease({
          name,
          namespace: o.namespace,
          body: { preconditions: { resourceVersion: lease.metadata?.resourceVersion } },
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
