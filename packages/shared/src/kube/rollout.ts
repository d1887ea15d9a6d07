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
import { REVISION_ANNOTATION, labelSelector } from './pods';
import { ResumableWatch } from './watch';

type RolloutFailureReason =
  | 'crash-loop'
  | 'image-pull'
  | 'oom-killed'
  | 'container-config'
  | 'progress-deadline'
  | 'timeout'
  | 'deleted'
  | 'cancelled'
  | 'api';

interface PodProblem {
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

export function trackRollout(kube: Kube, options: TrackOptions): Promise<RolloutResult> {
  return new RolloutTracker(kube, options).track();
}

/**
 * One tracking run. It moves `listing` (waiting for the Deployment's first list, which gives the pod
 * selector) -> `watching` (Deployment and pods) -> `settled`; the first verdict settles it and every
 * later one is ignored. Everything it learns arrives as watch callbacks, so the parts are methods on
 * the state they share rather than closures.
 */
class RolloutTracker {
  private phase: 'listing' | 'watching' | 'settled' = 'listing';
  private deployment: k8s.V1Deployment | undefined;
  private readonly pods = new Map<string, k8s.V1Pod>();
  /** ReplicaSet name -> revision; cleared when the Deployment's revision changes. */
  private readonly replicaSetRevisions = new Map<string, string>();
  private lastProgress = '';
  /** Pod inspections run one after another: each may read ReplicaSets and logs. */
  private inspecting = Promise.resolve();
  private readonly started: number;
  private readonly deadline: number;
  private readonly result: Promise<RolloutResult>;
  private resolveResult!: (r: RolloutResult) => void;
  private readonly listed: Promise<void>;
  private markListed!: () => void;
  private readonly deploymentWatch: ResumableWatch<k8s.V1Deployment>;
  private podWatch: ResumableWatch<k8s.V1Pod> | undefined;

  constructor(
    private readonly kube: Kube,
    private readonly options: TrackOptions,
  ) {
    this.started = options.clock.now();
    this.deadline = this.started + options.timeoutMs;
    this.result = new Promise<RolloutResult>((resolve) => (this.resolveResult = resolve));
    this.listed = new Promise<void>((resolve) => (this.markListed = resolve));
    this.deploymentWatch = this.watchDeployment();
  }

  private get settled(): boolean {
    return this.phase === 'settled';
  }

  async track(): Promise<RolloutResult> {
    const { options } = this;
    options.onRecheck?.(() => this.evaluate());
    options.signal?.addEventListener('abort', () => this.fail('cancelled', 'Tracking was stopped.'), { once: true });
    const timer = new AbortController();
    options.clock.sleep(Math.max(0, this.deadline - options.clock.now()), timer.signal).then(
      () => this.fail('timeout', `The rollout did not complete within ${Math.round(options.timeoutMs / 1000)}s.`),
      () => undefined,
    );
    const watchers: Promise<void>[] = [];
    try {
      watchers.push(this.deploymentWatch.run());
      // The pod selector comes from the deployment, so the pod watch starts once the first list is in.
      await Promise.race([this.listed, watchers[0]!.catch(() => undefined)]);
      if (!this.settled && this.deployment) {
        this.phase = 'watching';
        this.podWatch = this.watchPods(labelSelector(this.deployment?.spec?.selector?.matchLabels));
        watchers.push(this.podWatch.run());
      }
      for (const w of watchers) w.catch((error: unknown) => this.failWatch(error));
      return await this.result;
    } finally {
      timer.abort();
      this.deploymentWatch.stop();
      this.podWatch?.stop();
      await Promise.allSettled(watchers);
    }
  }

  private finish(r: RolloutResult): void {
    if (this.settled) return;
    this.phase = 'settled';
    this.resolveResult(r);
    this.markListed();
  }

  private fail(reason: RolloutFailureReason, message: string, problem?: PodProblem): void {
    this.finish({
      ok: false,
      reason,
      message,
      problem,
      status: this.deployment ? progressLine(this.deployment) : 'unknown',
      durationMs: this.options.clock.now() - this.started,
      watchRestarts: this.restarts(),
    });
  }

  private failWatch(error: unknown): void {
    const f = apiFailure(error);
    this.fail('api', `The Kubernetes API failed while watching the rollout: ${f.code ? `${f.code} ` : ''}${f.message}`);
  }

  private restarts(): number {
    return this.deploymentWatch.restarts + (this.podWatch?.restarts ?? 0);
  }

  private progress(line: string): void {
    if (line === this.lastProgress) return;
    this.lastProgress = line;
    this.options.progress?.(line);
  }

  /** The Deployment's state decides completion and the progress deadline; pods decide fast failures. */
  private evaluate(): void {
    const { deployment, options } = this;
    if (this.settled || !deployment) return;
    this.progress(progressLine(deployment));
    const missing = options.awaiting?.(deployment);
    if (missing !== undefined) {
      this.progress(`waiting: ${missing}`);
      return;
    }
    const verdict = rolloutStatus(deployment);
    if (verdict.state === 'complete') {
      this.finish({
        ok: true,
        revision: deployment.metadata?.annotations?.[REVISION_ANNOTATION] ?? '',
        completedAt: options.clock.now(),
        durationMs: options.clock.now() - this.started,
        watchRestarts: this.restarts(),
      });
    } else if (verdict.state === 'failed') {
      this.fail('progress-deadline', verdict.message);
    }
  }

  private inspectPods(): void {
    this.inspecting = this.inspecting.then(() => this.failOnPodProblem());
    this.inspecting.catch((error: unknown) => this.fail('api', `Could not inspect pods: ${apiFailure(error).message}`));
  }

  private async failOnPodProblem(): Promise<void> {
    const { deployment } = this;
    if (this.settled || !deployment) return;
    // Until the new spec is in and observed, the revision annotation still names the previous
    // ReplicaSet: its failing pods (say, a crash-looping canary being rolled back) are not ours.
    if (this.options.awaiting?.(deployment) !== undefined) return;
    if ((deployment.status?.observedGeneration ?? 0) < (deployment.metadata?.generation ?? 0)) return;
    const revision = deployment.metadata?.annotations?.[REVISION_ANNOTATION];
    for (const pod of this.pods.values()) {
      const problem = podProblem(pod);
      if (!problem) continue;
      const owner = pod.metadata?.ownerReferences?.find((o) => o.kind === 'ReplicaSet')?.name;
      if (!owner || !revision) continue;
      const podRevision = await this.revisionOfReplicaSet(owner);
      // Only the new ReplicaSet's pods decide: an old pod failing is not this rollout's fault.
      if (podRevision !== revision || this.settled) continue;
      problem.logs = await lastLogs(this.kube, this.options.namespace, problem, this.options.logLines ?? 20);
      this.fail(problem.kind, describeProblem(problem), problem);
      return;
    }
  }

  /** The ReplicaSet revision of a pod's owner; looked up once per ReplicaSet. */
  private async revisionOfReplicaSet(rs: string): Promise<string | undefined> {
    if (!this.replicaSetRevisions.has(rs)) {
      const { kube, options } = this;
      const list = await withRetry(
        () =>
          kube.apps.listNamespacedReplicaSet({
            namespace: options.namespace,
            labelSelector: labelSelector(this.deployment?.spec?.selector?.matchLabels),
          }),
        {
          clock: options.clock,
          deadline: this.deadline,
          onRetry: (f, delay) => options.log?.(`API ${f.code ?? ''} ${f.message}; retrying in ${delay}ms`),
        },
      );
      for (const item of list.items) {
        const n = item.metadata?.name;
        const revision = item.metadata?.annotations?.[REVISION_ANNOTATION];
        if (n && revision) this.replicaSetRevisions.set(n, revision);
      }
    }
    return this.replicaSetRevisions.get(rs);
  }

  private watchDeployment(): ResumableWatch<k8s.V1Deployment> {
    const { kube, options } = this;
    const { namespace, deployment: name } = options;
    const fieldSelector = `metadata.name=${name}`;
    return new ResumableWatch<k8s.V1Deployment>({
      kube,
      path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
      query: { fieldSelector },
      list: async () => {
        const list = await kube.apps.listNamespacedDeployment({ namespace, fieldSelector });
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
      },
      onSnapshot: (items) => {
        this.deployment = items[0];
        this.markListed();
        if (!this.deployment) this.fail('deleted', `Deployment ${namespace}/${name} does not exist.`);
        else this.evaluate();
      },
      onEvent: (type, object) => {
        if (type === 'DELETED')
          return this.fail('deleted', `Deployment ${namespace}/${name} was deleted during the rollout.`);
        const previousRevision = this.deployment?.metadata?.annotations?.[REVISION_ANNOTATION];
        this.deployment = object;
        if (object.metadata?.annotations?.[REVISION_ANNOTATION] !== previousRevision) this.replicaSetRevisions.clear();
        this.evaluate();
        this.inspectPods();
      },
      clock: options.clock,
      deadline: this.deadline,
      log: options.log,
    });
  }

  private watchPods(labelSelector: string): ResumableWatch<k8s.V1Pod> {
    const { kube, options, pods } = this;
    const { namespace } = options;
    return new ResumableWatch<k8s.V1Pod>({
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
        this.inspectPods();
      },
      onEvent: (type, pod) => {
        if (type === 'DELETED') pods.delete(pod.metadata?.name ?? '');
        else pods.set(pod.metadata?.name ?? '', pod);
        this.inspectPods();
      },
      clock: options.clock,
      deadline: this.deadline,
      log: options.log,
    });
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
function podProblem(pod: k8s.V1Pod): Problem | undefined {
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
