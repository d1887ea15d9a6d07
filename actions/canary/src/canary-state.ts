import type * as k8s from '@kubernetes/client-node';
import type { RunContext } from '@veloz/shared/contract';
import { describeError } from '@veloz/shared/checks';
import type { Kube } from '@veloz/shared/kube/client';
import type { HttpRoute, RouteRecord } from '@veloz/shared/kube/http-route';
import type { RolloutResult } from '@veloz/shared/kube/rollout';
import type { KubeSession } from '@veloz/shared/kube/session';
import { deploymentCompleteText } from '@veloz/shared/notifications';
import type { ActionRun } from '@veloz/shared/pipeline';
import { StepFailure } from '@veloz/shared/pipeline';
import { formatDuration } from '@veloz/shared/parse';
import type { GithubDeployments } from '@veloz/shared/records/github';
import type { CanarySettings } from './inputs';
import type { Desired, ReleaseState } from './release-state';

/** What the canary's steps share: settings, the session, and what earlier steps found. */
export interface CanaryState {
  s: Readonly<CanarySettings>;
  ctx: RunContext;
  /** The report, outputs and warnings this run builds up. */
  out: ActionRun;
  want: Desired;
  session?: KubeSession;
  before?: ReleaseState;
  /** Green as it was when the run started (a leftover, or this canary's on a re-run). */
  greenBefore?: k8s.V1Deployment;
  /** Green as this run applies it. */
  greenManifest?: k8s.V1Deployment;
  github?: GithubDeployments;
  deploymentId?: number;
  /** The release already runs what promote wants (a re-run after the upgrade, before green went). */
  releaseDone?: boolean;
  rolloutMs?: number;
  headline?: string;
  /** Weighted canary: the HTTPRoute as read before any write, blue's Service, the record green carries. */
  route?: HttpRoute;
  blueService?: k8s.V1Service;
  routeRecord?: RouteRecord;
  /** The route already gives green its weight and green's Service is in place (a re-run changes nothing). */
  routeDone?: boolean;
  /** Promotion: blue is held (paused, surge-all strategy); a failure must unpause it and give the strategy back. */
  held?: { generation: number; unpaused?: boolean };
}

export function kubeOf(state: CanaryState): Kube {
  if (!state.session) throw new Error('no Kubernetes session (the lock step did not run)');
  return state.session.kube;
}

export function beforeOf(state: CanaryState): ReleaseState {
  if (!state.before) throw new Error('the release was not read');
  return state.before;
}

export const sideBySide = (state: CanaryState): boolean => state.s.strategy === 'side-by-side';

export async function recordStatus(
  state: CanaryState,
  status: 'in_progress' | 'success' | 'failure',
  description: string,
): Promise<void> {
  if (!state.github || state.deploymentId === undefined) return;
  try {
    await state.github.status(state.deploymentId, status, description);
  } catch (error) {
    state.out.warnings.push(`GitHub deployment status '${status}' not recorded: ${describeError(error)}.`);
  }
}

/** Runbook §5.4's DEPLOYMENT COMPLETE message, SUCCESS or FAILED, for this run's version and environment. */
export async function notifyComplete(
  state: CanaryState,
  status: 'SUCCESS' | 'FAILED',
  validation: string,
): Promise<void> {
  const { s, ctx, out } = state;
  const time = new Date(ctx.clock.now());
  await out.notify(
    deploymentCompleteText({ environment: s.records.environment, version: s.version, time, status, validation }),
  );
}

function phaseWord(state: CanaryState): string {
  return state.s.phase === 'canary' ? 'Canary' : 'Promotion';
}

/**
 * A failed rollout as the on-call engineer needs it: the status line, the failing pod's last log
 * lines, the FAILED notification, and the next commands (logs, describe, how to back out).
 */
export async function rolloutFailure(
  state: CanaryState,
  rollout: Extract<RolloutResult, { ok: false }>,
  backOut: string,
): Promise<StepFailure> {
  const { out, s } = state;
  out.fact('Rollout', rollout.status);
  const problem = rollout.problem;
  if (problem?.logs.length) {
    out.report.sections.push({
      heading: `Last log lines of ${problem.pod}/${problem.container}`,
      lines: problem.logs.map((l) => `    ${l}`),
    });
  }
  await notifyComplete(state, 'FAILED', rollout.message);
  const next: string[] = [];
  if (problem) {
    const previous = problem.reason === 'CrashLoopBackOff' || problem.reason === 'OOMKilled' ? ' --previous' : '';
    next.push(`\`kubectl logs -n ${s.target.namespace} ${problem.pod} -c ${problem.container}${previous}\``);
    next.push(`\`kubectl describe pod -n ${s.target.namespace} ${problem.pod}\``);
  }
  next.push(backOut);
  return new StepFailure(
    `${phaseWord(state)} of ${s.version} failed after ${formatDuration(rollout.durationMs)}: ${rollout.message}`,
    next,
  );
}
