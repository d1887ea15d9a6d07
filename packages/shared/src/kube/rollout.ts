/**
 * Rollout tracking on the watch API. Complete means what kubectl's rollout status means
 * (observedGeneration caught up, all replicas updated and available, no old replicas left); it
 * fails fast the moment a pod of the new ReplicaSet is crash-looping, cannot pull its image or was
 * OOM-killed, instead of waiting out the progress deadline.
 */
import type * as k8s from '@kubernetes/client-node';
import type { Clock } from '../clock';
import type { Kube } from './client';
import { apiFailure, withRetry } from './errors';
import { ResumableWatch } from './watch';

export type RolloutFailureReason =
  | 'crash-loop'
  | 'image-pull'
  | 'oom-killed'
  | 'container-config'
  | 'progress-deadline'
  | 'timeout'
  | 'deleted'
  | 'cancelled'
  | 'api';

export interface PodProblem {
  pod: string;
  container: string;
  reason: string;
  message?: string;
  restartCount: number;
  exitCode?: number;
  /** Last log lines of the container (previous instance when it restarted). */
  logs: string[];
}

export type RolloutResult =
  | {
      ok: true;
      revision: string;
      replicaSet?: string;
      /** Clock time the tracker saw the rollout complete. */
      completedAt: number;
      durationMs: number;
      watchRestarts: number;
    }
  | {
      ok: false;
      reason: RolloutFailureReason;
      message: string;
      problem?: PodProblem;
      status: string;
      durationMs: number;
      watchRestarts: number;
    };

export interface TrackOptions {
  namespace: string;
  deployment: string;
  timeoutMs: number;
  clock: Clock;
  /** Progress lines ("updated 1/2, ready 1/2, available 1/2"), emitted when they change. */
  progress?: (line: string) => void;
  log?: (line: string) => void;
  /** How many log lines to attach to a pod failure. */
  logLines?: number;
  /**
   * Says what is still missing from the Deployment's spec (undefined once it is the spec we wait
   * for), so a tracker started before `helm upgrade` applies its change cannot report the old
   * rollout as complete.
   */
  awaiting?: (d: k8s.V1Deployment) => string | undefined;
  /** Receives a function that re-evaluates the rollout now (e.g. once helm has exited). */
  onRecheck?: (recheck: () => void) => void;
  /** Stops tracking (the change it watches was refused). */
  signal?: AbortSignal;
}

const IMAGE_PULL_REASONS = new Set(['ImagePullBackOff', 'ErrImagePull', 'InvalidImageName', 'ErrImageNeverPull']);
const CONFIG_REASONS = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

export async function trackRollout(kube: Kube, options: TrackOptions): Promise<RolloutResult> {
  const { namespace, deployment: name, clock } = options;
  const started = clock.now();
  const deadline = started + options.timeoutMs;
  let deployment: k8s.V1Deployment | undefined;
  const pods = new Map<string, k8s.V1Pod>();
  const replicaSetRevisions = new Map<string, string>();
  let lastProgress = '';
  let settled = false;
  let resolveResult!: (r: RolloutResult) => void;
  const result = new Promise<RolloutResult>((resolve) => (resolveResult = resolve));
  const restarts = (): number => deploymentWatch.restarts + (podWatch?.restarts ?? 0);

  let markListed!: () => void;
  const listed = new Promise<void>((resolve) => (markListed = resolve));
  const finish = (r: RolloutResult): void => {
    if (settled) return;
    settled = true;
    resolveResult(r);
    markListed();
  };
  const fail = (reason: RolloutFailureReason, message: string, problem?: PodProblem): void =>
    finish({
      ok: false,
      reason,
      message,
      problem,
      status: deployment ? progressLine(deployment) : 'unknown',
      durationMs: clock.now() - started,
      watchRestarts: restarts(),
    });

  const retry = <T>(op: () => Promise<T>): Promise<T> =>
    withRetry(op, {
      clock,
      deadline,
      onRetry: (f, delay) => options.log?.(`API ${f.code ?? ''} ${f.message}; retrying in ${delay}ms`),
    });

  /** The ReplicaSet revision of a pod's owner; looked up once per ReplicaSet. */
  const revisionOfReplicaSet = async (rs: string): Promise<string | undefined> => {
    if (!replicaSetRevisions.has(rs)) {
      const list = await retry(() =>
        kube.apps.listNamespacedReplicaSet({ namespace, labelSelector: selectorOf(deployment) }),
      );
      for (const item of list.items) {
        const n = item.metadata?.name;
        const revision = item.metadata?.annotations?.['deployment.kubernetes.io/revision'];
        if (n && revision) replicaSetRevisions.set(n, revision);
      }
    }
    return replicaSetRevisions.get(rs);
  };

  let inspecting = Promise.resolve();
  const inspectPods = (): void => {
    inspecting = inspecting.then(async () => {
      if (settled || !deployment) return;
      // Until the new spec is in and observed, the revision annotation still names the previous
      // ReplicaSet: its failing pods (say, a crash-looping canary being rolled back) are not ours.
      if (options.awaiting?.(deployment) !== undefined) return;
      if ((deployment.status?.observedGeneration ?? 0) < (deployment.metadata?.generation ?? 0)) return;
      const revision = deployment.metadata?.annotations?.['deployment.kubernetes.io/revision'];
      for (const pod of pods.values()) {
        const problem = podProblem(pod);
        if (!problem) continue;
        const owner = pod.metadata?.ownerReferences?.find((o) => o.kind === 'ReplicaSet')?.name;
        if (!owner || !revision) continue;
        const podRevision = await revisionOfReplicaSet(owner);
        // Only the new ReplicaSet's pods decide: an old pod failing is not this rollout's fault.
        if (podRevision !== revision || settled) continue;
        problem.logs = await lastLogs(kube, namespace, problem, options.logLines ?? 20);
        fail(problem.kind, describeProblem(problem), problem);
        return;
      }
    });
    inspecting.catch((error: unknown) => fail('api', `Could not inspect pods: ${apiFailure(error).message}`));
  };

  const evaluate = (): void => {
    if (settled || !deployment) return;
    const line = progressLine(deployment);
    if (line !== lastProgress) {
      lastProgress = line;
      options.progress?.(line);
    }
    const missing = options.awaiting?.(deployment);
    if (missing !== undefined) {
      if (`waiting: ${missing}` !== lastProgress) {
        lastProgress = `waiting: ${missing}`;
        options.progress?.(lastProgress);
      }
      return;
    }
    const verdict = rolloutStatus(deployment);
    if (verdict.state === 'complete') {
      finish({
        ok: true,
        revision: deployment.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? '',
        completedAt: clock.now(),
        durationMs: clock.now() - started,
        watchRestarts: restarts(),
      });
    } else if (verdict.state === 'failed') {
      fail('progress-deadline', verdict.message);
    }
  };

  const deploymentWatch = new ResumableWatch<k8s.V1Deployment>({
    kube,
    path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
    query: { fieldSelector: `metadata.name=${name}` },
    list: async () => {
      const list = await kube.apps.listNamespacedDeployment({ namespace, fieldSelector: `metadata.name=${name}` });
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
    },
    onSnapshot: (items) => {
      deployment = items[0];
      markListed();
      if (!deployment) fail('deleted', `Deployment ${namespace}/${name} does not exist.`);
      else evaluate();
    },
    onEvent: (type, object) => {
      if (type === 'DELETED') return fail('deleted', `Deployment ${namespace}/${name} was deleted during the rollout.`);
      const previousRevision = deployment?.metadata?.annotations?.['deployment.kubernetes.io/revision'];
      deployment = object;
      if (object.metadata?.annotations?.['deployment.kubernetes.io/revision'] !== previousRevision) {
        replicaSetRevisions.clear();
      }
      evaluate();
      inspectPods();
    },
    clock,
    deadline,
    log: options.log,
  });

  options.onRecheck?.(() => evaluate());
  options.signal?.addEventListener('abort', () => fail('cancelled', 'Tracking was stopped.'), { once: true });
  let podWatch: ResumableWatch<k8s.V1Pod> | undefined;
  const watchers: Promise<void>[] = [];
  const timer = new AbortController();
  clock.sleep(Math.max(0, deadline - clock.now()), timer.signal).then(
    () => fail('timeout', `The rollout did not complete within ${Math.round(options.timeoutMs / 1000)}s.`),
    () => undefined,
  );

  try {
    watchers.push(deploymentWatch.run());
    // The pod selector comes from the deployment, so the pod watch starts once the first list is in.
    await Promise.race([listed, watchers[0]!.catch(() => undefined)]);
    if (!settled && deployment) {
      const labelSelector = selectorOf(deployment);
      podWatch = new ResumableWatch<k8s.V1Pod>({
        kube,
        path: `/api/v1/namespaces/${namespace}/pods`,
        query: { labelSelector },
        list: async () => {
          const list = await kube.core.listNamespacedPod({ namespace, labelSelector });
          return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
        },
        onSnapshot: (items) => {
          pods.clear();
          for (const pod of items) pods.set(pod.metadata?.name ?? '', pod);
          inspectPods();
        },
        onEvent: (type, pod) => {
          if (type === 'DELETED') pods.delete(pod.metadata?.name ?? '');
          else pods.set(pod.metadata?.name ?? '', pod);
          inspectPods();
        },
        clock,
        deadline,
        log: options.log,
      });
      watchers.push(podWatch.run());
    }
    for (const w of watchers) {
      w.catch((error: unknown) => {
        const f = apiFailure(error);
        fail('api', `The Kubernetes API failed while watching the rollout: ${f.code ? `${f.code} ` : ''}${f.message}`);
      });
    }
    return await result;
  } finally {
    timer.abort();
    deploymentWatch.stop();
    podWatch?.stop();
    await Promise.allSettled(watchers);
  }
}

/** kubectl's DeploymentStatusViewer, as data. */
export function rolloutStatus(deployment: k8s.V1Deployment): {
  state: 'complete' | 'progressing' | 'failed';
  message: string;
} {
  const name = deployment.metadata?.name ?? '';
  const generation = deployment.metadata?.generation ?? 0;
  const status = deployment.status ?? {};
  if ((status.observedGeneration ?? 0) < generation) {
    return { state: 'progressing', message: 'Waiting for the deployment spec update to be observed' };
  }
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return {
      state: 'failed',
      message:
        `Deployment "${name}" exceeded its progress deadline (${deployment.spec?.progressDeadlineSeconds ?? 600}s): ${progressing.message ?? ''}`.trim(),
    };
  }
  const desired = deployment.spec?.replicas ?? 1;
  const updated = status.updatedReplicas ?? 0;
  const total = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated < desired) return { state: 'progressing', message: `${updated} of ${desired} new replicas updated` };
  if (total > updated) return { state: 'progressing', message: `${total - updated} old replicas pending termination` };
  if (available < updated)
    return { state: 'progressing', message: `${available} of ${updated} updated replicas available` };
  return { state: 'complete', message: `deployment "${name}" successfully rolled out` };
}

export function progressLine(deployment: k8s.V1Deployment): string {
  const desired = deployment.spec?.replicas ?? 1;
  const s = deployment.status ?? {};
  return `updated ${s.updatedReplicas ?? 0}/${desired}, ready ${s.readyReplicas ?? 0}/${desired}, available ${s.availableReplicas ?? 0}/${desired}`;
}

type Problem = PodProblem & { kind: RolloutFailureReason; previous: boolean };

/** The first container of a pod that is certain not to become ready without a new release. */
export function podProblem(pod: k8s.V1Pod): Problem | undefined {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const c of statuses) {
    const waiting = c.state?.waiting;
    const base = { pod: pod.metadata?.name ?? '', container: c.name, restartCount: c.restartCount ?? 0, logs: [] };
    const oom =
      c.lastState?.terminated?.reason === 'OOMKilled'
        ? c.lastState.terminated
        : c.state?.terminated?.reason === 'OOMKilled'
          ? c.state.terminated
          : undefined;
    if (oom) {
      return {
        ...base,
        kind: 'oom-killed',
        reason: 'OOMKilled',
        exitCode: oom.exitCode,
        message: oom.message,
        previous: true,
      };
    }
    if (waiting?.reason === 'CrashLoopBackOff') {
      return {
        ...base,
        kind: 'crash-loop',
        reason: 'CrashLoopBackOff',
        message: waiting.message,
        exitCode: c.lastState?.terminated?.exitCode,
        previous: true,
      };
    }
    if (waiting?.reason && IMAGE_PULL_REASONS.has(waiting.reason)) {
      return { ...base, kind: 'image-pull', reason: waiting.reason, message: waiting.message, previous: false };
    }
    if (waiting?.reason && CONFIG_REASONS.has(waiting.reason)) {
      return { ...base, kind: 'container-config', reason: waiting.reason, message: waiting.message, previous: false };
    }
  }
  return undefined;
}

function describeProblem(p: Problem): string {
  const what =
    p.kind === 'image-pull'
      ? `cannot pull its image (${p.reason})`
      : p.kind === 'oom-killed'
        ? `was OOM-killed (exit code ${p.exitCode ?? 137}, ${p.restartCount} restarts)`
        : p.kind === 'crash-loop'
          ? `is crash-looping (${p.reason}, ${p.restartCount} restarts${p.exitCode !== undefined ? `, last exit code ${p.exitCode}` : ''})`
          : `cannot start (${p.reason})`;
  return `Pod ${p.pod}, container ${p.container} ${what}${p.message ? `: ${p.message}` : ''}`;
}

async function lastLogs(kube: Kube, namespace: string, p: Problem, lines: number): Promise<string[]> {
  if (p.kind === 'image-pull' || lines <= 0) return [];
  // The kubelet may restart the container between the status we judged and these reads: the
  // terminated instance then turns from "current" into "previous" (and the current one starts empty),
  // so the previous instance is asked again after the current one.
  for (const previous of p.previous ? [true, false, true] : [false]) {
    try {
      const text = await kube.core.readNamespacedPodLog({
        name: p.pod,
        namespace,
        container: p.container,
        tailLines: lines,
        previous,
      });
      const found = String(text).split('\n').filter(Boolean).slice(-lines);
      if (found.length > 0) return found;
    } catch {
      // No previous instance yet, or logs unavailable: the next read may find them; else give up quietly.
    }
  }
  return [];
}

function selectorOf(d: k8s.V1Deployment | undefined): string {
  const labels = d?.spec?.selector?.matchLabels ?? {};
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}
