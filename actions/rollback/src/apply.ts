/**
 * The rollback itself (§4.2–4.3): `helm rollback` for the helm driver, or what `kubectl rollout undo`
 * does through the API, each tracked on the watch API so a bad target fails fast.
 */
import type { RunContext } from '@veloz/shared/contract';
import { detectHelm, forceConflicts, goDuration, runHelm } from '@veloz/shared/helm/cli';
import { markRevisionFailed, PENDING_STATUSES } from '@veloz/shared/helm/history';
import {
  PRE_CANARY_REPLICAS_ANNOTATION,
  SUSPENDED_HPA_ANNOTATION,
  mutateDeployment,
  restoreHpa,
} from '@veloz/shared/kube/deployment-edits';
import type { RolloutResult } from '@veloz/shared/kube/rollout';
import type { KubeSession } from '@veloz/shared/kube/session';
import { applyTracked, type TrackedChangeOptions } from '@veloz/shared/kube/tracked-change';
import type { RollbackSettings } from './inputs';
import type { Plan } from './plan';

export type TrackOptions = Omit<TrackedChangeOptions, 'apply' | 'generationBefore'>;

export function trackOptions(settings: Readonly<RollbackSettings>, ctx: RunContext): TrackOptions {
  return {
    namespace: settings.target.namespace,
    deployment: settings.target.deployment,
    timeoutMs: settings.timeoutMs,
    clock: ctx.clock,
    log: (line: string) => ctx.log.info(line),
    warn: (line: string) => ctx.log.warning(line),
  };
}

/** A release stuck in pending-* (its helm was killed) is marked failed first, or helm refuses. */
export async function recoverStuckRelease(
  session: KubeSession,
  settings: Readonly<RollbackSettings>,
  plan: Plan,
  ctx: RunContext,
): Promise<string | undefined> {
  const latest = plan.latest;
  if (latest && PENDING_STATUSES.has(latest.status)) {
    await markRevisionFailed(
      session.kube,
      settings.target.namespace,
      latest,
      `Marked failed by the rollback action (${ctx.workflowRun.runUrl}): stuck in ${latest.status}, its helm process is gone`,
    );
    return `Revision ${latest.revision} was stuck in ${latest.status} (a deploy killed mid-way); it was marked failed so helm could roll back.`;
  }
  if (latest?.status === 'failed') return `Revision ${latest.revision} had failed; rolled back over it.`;
  return undefined;
}

export async function helmRollback(
  session: KubeSession,
  settings: Readonly<RollbackSettings>,
  plan: Plan,
  ctx: RunContext,
): Promise<RolloutResult> {
  const helm = await detectHelm();
  const args = helmRollbackArgs(settings, plan, helm.major);
  return applyTracked(session.kube, {
    ...trackOptions(settings, ctx),
    generationBefore: plan.deployment.metadata?.generation ?? 0,
    apply: async (signal) => {
      ctx.log.info(`helm ${helm.version}: ${args.join(' ')}`);
      await runHelm(helm, args, { env: session.toolEnv, signal, onLine: (line) => ctx.log.info(`helm: ${line}`) });
    },
  });
}

/** Runbook §4.2–4.3's `helm rollback`, as argv (also what a plan shows). */
export function helmRollbackArgs(settings: Readonly<RollbackSettings>, plan: Plan, helmMajor: number): string[] {
  return [
    'rollback',
    settings.target.release,
    String(plan.to.revision),
    '-n',
    settings.target.namespace,
    '--wait',
    '--timeout',
    goDuration(settings.timeoutMs),
    ...forceConflicts(helmMajor, plan.latestApplyMethod),
  ];
}

/** What `kubectl rollout undo` does, through the API: the chosen ReplicaSet's template goes back on. */
export async function kubectlUndo(
  session: KubeSession,
  settings: Readonly<RollbackSettings>,
  plan: Plan,
  ctx: RunContext,
): Promise<RolloutResult> {
  const { kube } = session;
  const { namespace, deployment: name } = settings.target;
  const template = structuredClone(plan.replicaSet!.spec!.template!);
  delete template.metadata?.labels?.['pod-template-hash'];
  return applyTracked(kube, {
    ...trackOptions(settings, ctx),
    generationBefore: plan.deployment.metadata?.generation ?? 0,
    apply: async () => {
      await mutateDeployment(
        kube,
        namespace,
        name,
        (d) => {
          if (!d.spec) return;
          d.spec.template = template;
          // A failed in-place canary left the Deployment at canary size with its autoscaler set aside.
          const preCanary = Number(d.metadata?.annotations?.[PRE_CANARY_REPLICAS_ANNOTATION]);
          if (Number.isInteger(preCanary) && preCanary > 0) d.spec.replicas = preCanary;
          if (d.metadata?.annotations) delete d.metadata.annotations[PRE_CANARY_REPLICAS_ANNOTATION];
        },
        plan.deployment,
      );
      if (plan.deployment.metadata?.annotations?.[SUSPENDED_HPA_ANNOTATION]) await restoreHpa(kube, namespace, name);
    },
  });
}
