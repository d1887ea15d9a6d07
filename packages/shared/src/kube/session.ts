/**
 * What a mutating action (canary, rollback) holds for its whole run: the API clients, the release
 * lock, and a kubeconfig file for the helm binary when the kubeconfig came as input content.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunContext } from '../contract';
import type { TargetSettings } from '../target';
import { connectKube, type Kube } from './client';
import { acquireReleaseLock, type HeldLock } from './lock';

export interface KubeSession {
  kube: Kube;
  lock: HeldLock;
  /** Environment for helm/kubectl child processes (KUBECONFIG when content was given). */
  toolEnv: Record<string, string>;
  /**
   * Throws LockLostError ("lost the release lock to <holder> at <time>: stopped before <nextStep>")
   * when the run may no longer write: the runner's `beforeStep` hook.
   */
  fence(nextStep: string): void;
  /** Aborts when the release lock is lost (helm is interrupted by it through applyTracked). */
  lockLost: AbortSignal;
  close(): Promise<void>;
}

/**
 * Connects and claims the release lock. `whileClaiming` gets the clients as soon as the lease is
 * read free, so reads (what the run will change) go beside the claim's write; `lock.uncontested`
 * says whether they may be used (see acquireReleaseLock's `onClaimable`). Nothing writes before
 * this returns.
 */
export async function openSession(
  target: TargetSettings,
  context: RunContext,
  action: string,
  lockTtlMs: number,
  force = false,
  lockWaitMs = 0,
  whileClaiming?: (kube: Kube) => void,
): Promise<KubeSession> {
  const kube = await connectKube(target.kubeconfig, (line) => context.log.info(line));
  const lock = await acquireReleaseLock(kube, {
    namespace: target.namespace,
    release: target.release,
    owner: {
      identity: `${context.workflowRun.runUrl}/attempts/${context.workflowRun.runAttempt}#${context.workflowRun.job || action}`,
      runUrl: context.workflowRun.runUrl,
      actor: context.workflowRun.actor,
      action,
    },
    ttlMs: lockTtlMs,
    clock: context.clock,
    force,
    waitMs: lockWaitMs,
    log: (line) => context.log.warning(line),
    onClaimable: whileClaiming && (() => whileClaiming(kube)),
  });
  let dir: string | undefined;
  const toolEnv: Record<string, string> = {};
  if (target.kubeconfig) {
    dir = await mkdtemp(join(context.tempDir || tmpdir(), 'veloz-kube-'));
    const path = join(dir, 'config');
    await writeFile(path, target.kubeconfig, { mode: 0o600 });
    toolEnv.KUBECONFIG = path;
  }
  return {
    kube,
    lock,
    toolEnv,
    fence: (nextStep) => kube.fence.check(nextStep),
    lockLost: kube.fence.signal,
    async close() {
      await lock.release();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
