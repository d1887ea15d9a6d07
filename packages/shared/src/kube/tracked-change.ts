import { describeError } from '../checks';
import type { Clock } from '../clock';
import { HelmError } from '../helm/cli';
import type { Kube } from './client';
import { trackRollout, type RolloutResult } from './rollout';

export interface TrackedChangeOptions {
  namespace: string;
  deployment: string;
  timeoutMs: number;
  clock: Clock;
  /** The Deployment's generation before the change: until it moves, the old rollout is not ours. */
  generationBefore: number;
  /** Makes the change (helm upgrade/rollback, or API writes); aborting the signal interrupts it. */
  apply: (signal: AbortSignal) => Promise<void>;
  log: (line: string) => void;
  warn: (line: string) => void;
}

/**
 * Applies a change while tracking the rollout it causes. The tracker decides: when it fails fast
 * (crash loop, image pull, OOM, deadline) the change is interrupted — `helm --wait` gets SIGTERM and
 * records the release as failed — instead of polling until its own timeout. A change that is refused
 * outright (helm's error, an API 4xx) is thrown as is. Losing the release lock interrupts the change
 * the same way and throws LockLostError once helm has exited.
 */
export async function applyTracked(kube: Kube, options: TrackedChangeOptions): Promise<RolloutResult> {
  kube.fence.check(`applying the change to ${options.deployment}`);
  const interrupt = new AbortController();
  const stopTracking = new AbortController();
  const onLost = (): void => {
    options.warn('The release lock was lost: interrupting the change (helm gets SIGTERM) and stopping all writes.');
    interrupt.abort();
    stopTracking.abort();
  };
  kube.fence.signal.addEventListener('abort', onLost, { once: true });
  try {
    // Tracked as one piece of work: after a loss the lock says "stopped" only once helm has exited.
    return await kube.fence.track(applyWhileTracking(kube, options, interrupt, stopTracking));
  } finally {
    kube.fence.signal.removeEventListener('abort', onLost);
  }
}

async function applyWhileTracking(
  kube: Kube,
  o: TrackedChangeOptions,
  interrupt: AbortController,
  stopTracking: AbortController,
): Promise<RolloutResult> {
  let applied = false;
  let recheck: () => void = () => {};
  const tracking = trackRollout(kube, {
    namespace: o.namespace,
    deployment: o.deployment,
    timeoutMs: o.timeoutMs,
    clock: o.clock,
    progress: o.log,
    log: o.log,
    awaiting: (d) =>
      applied || (d.metadata?.generation ?? 0) > o.generationBefore ? undefined : 'the new spec to be applied',
    onRecheck: (fn) => (recheck = fn),
    signal: stopTracking.signal,
  });
  const applyOutcome = o.apply(interrupt.signal).then(
    async () => {
      // A change that left the spec as it was (same generation) rolls nothing out: let the tracker
      // judge the current state. Otherwise the watch brings the new generation; deciding on the
      // object it holds now could report the previous rollout as this one.
      const fresh = await kube.apps.readNamespacedDeployment({ name: o.deployment, namespace: o.namespace });
      if ((fresh.metadata?.generation ?? 0) <= o.generationBefore) {
        applied = true;
        recheck();
      }
      return undefined;
    },
    (error: unknown) => error,
  );
  const first = await Promise.race([
    tracking.then(() => ({ kind: 'rollout' as const, error: undefined })),
    applyOutcome.then((error) => ({ kind: 'apply' as const, error })),
  ]);
  if (first.kind === 'apply' && first.error) {
    stopTracking.abort();
    await tracking;
    kube.fence.check(`the rest of the rollout of ${o.deployment}`);
    throw first.error;
  }
  const result = await tracking;
  if (kube.fence.signal.aborted) {
    await applyOutcome; // helm has exited (SIGTERM, then SIGKILL after 10 s)
    kube.fence.check(`the rest of the rollout of ${o.deployment}`);
  }
  if (!result.ok) {
    interrupt.abort();
    const applyError = await applyOutcome;
    if (applyError && !(applyError instanceof HelmError)) o.warn(describeError(applyError));
    return result;
  }
  const applyError = await applyOutcome;
  if (applyError) throw applyError;
  return result;
}
