import { type Check, type CheckOutcome, defineCheck } from '@veloz/shared/checks';
import { PENDING_STATUSES, listReleaseRevisions, readReleaseRevision } from '@veloz/shared/helm/history';
import type { Kube } from '@veloz/shared/kube/client';
import { isForbidden, isNotFound } from '@veloz/shared/kube/errors';
import { findGreen, imageOf } from '@veloz/shared/kube/green';
import { progressLine, rolloutStatus } from '@veloz/shared/kube/rollout';
import type { TargetSettings } from '@veloz/shared/target';

/** Runbook §1.2 step 2: the release is in a state a new deploy can start from. */
export function releaseCheck(kube: Kube, target: TargetSettings, timeoutMs: number): Check {
  return withLeftoverGreen(
    kube,
    target,
    target.driver === 'helm' ? helmReleaseCheck(kube, target, timeoutMs) : rolloutIdleCheck(kube, target, timeoutMs),
  );
}

/**
 * A green Deployment a crashed or abandoned canary left behind keeps serving its share of requests
 * with an unvalidated version: a warning naming it and the command that removes it. (The next
 * canary adopts it when it runs the same version and size, and replaces it otherwise.)
 */
function withLeftoverGreen(kube: Kube, target: TargetSettings, check: Check): Check {
  return {
    ...check,
    async run(signal): Promise<CheckOutcome> {
      const outcome = await check.run(signal);
      const green = await findGreen(kube, target.namespace, target.deployment);
      if (!green || outcome.status === 'fail') return outcome;
      const name = green.metadata?.name ?? '';
      const image = imageOf(green) || '?';
      const ready = green.status?.readyReplicas ?? 0;
      return {
        ...outcome,
        status: 'warn',
        observed: `${outcome.observed}; green ${name} left over (${ready} ready × ${image})`,
        detail: `Deployment ${name} was left by an earlier canary and ${ready > 0 ? 'may be serving requests' : 'serves nothing'}. The next canary adopts it (same version and size) or replaces it; to remove it now: \`kubectl delete deployment/${name} -n ${target.namespace}\`.`,
      };
    },
  };
}

function helmReleaseCheck(kube: Kube, target: TargetSettings, timeoutMs: number): Check {
  const { namespace, release } = target;
  return defineCheck('release', 'Helm release', timeoutMs, async () => {
    const threshold = 'status deployed';
    let revisions: Awaited<ReturnType<typeof listReleaseRevisions>>;
    try {
      revisions = await listReleaseRevisions(kube, namespace, release);
    } catch (error) {
      if (!isForbidden(error)) throw error;
      return {
        status: 'warn',
        observed: "release history not readable (this credential reads no Secrets, as the canary stage's Role)",
        threshold,
        detail: `Helm keeps its release history in Secrets, which the canary-stage credential cannot read by design. The promote job's \`helm upgrade\` (promote credential) refuses a release with an operation in progress; to see the state now: \`helm history ${release} -n ${namespace}\`.`,
      };
    }
    const latest = revisions[revisions.length - 1];
    if (!latest) {
      return {
        status: 'fail',
        observed: 'no release',
        threshold,
        detail: `Helm release ${release} was not found in namespace ${namespace}. Check the \`release\` input, or \`helm list -n ${namespace}\`.`,
      };
    }
    const details = await readReleaseRevision(kube, namespace, latest);
    const observed = `revision ${details.revision} ${details.status} (${details.chart}-${details.chartVersion}, app ${details.appVersion})`;
    const data = {
      revision: details.revision,
      status: details.status,
      chart: details.chart,
      appVersion: details.appVersion,
    };
    const lastGood = [...revisions]
      .reverse()
      .find((r) => r.revision < latest.revision && ['deployed', 'superseded'].includes(r.status));
    const rollback = lastGood
      ? `\`helm rollback ${release} ${lastGood.revision} -n ${namespace}\``
      : `\`helm history ${release} -n ${namespace}\` to choose a revision`;
    if (PENDING_STATUSES.has(details.status)) {
      return {
        status: 'fail',
        observed,
        threshold,
        detail: `Another operation is in progress (${details.status}, revision ${details.revision}). If no helm process or deploy job is still running, the release is stuck: recover it with ${rollback} (the rollback action does this), then deploy again.`,
        data,
      };
    }
    if (details.status === 'failed') {
      return {
        status: 'fail',
        observed,
        threshold,
        detail: `The last operation failed: ${details.description || 'no description'}. Return to the last good revision with ${rollback}, or investigate with \`helm status ${release} -n ${namespace}\`.`,
        data,
      };
    }
    if (details.status !== 'deployed') {
      return { status: 'fail', observed, threshold, detail: `Unexpected release status ${details.status}.`, data };
    }
    return { status: 'pass', observed, threshold, data };
  });
}

function rolloutIdleCheck(kube: Kube, target: TargetSettings, timeoutMs: number): Check {
  const { namespace, deployment: name } = target;
  return defineCheck('release', 'Deployment not mid-rollout', timeoutMs, async () => {
    let deployment;
    try {
      deployment = await kube.apps.readNamespacedDeployment({ name, namespace });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      return { status: 'fail', observed: 'not found', detail: `Deployment ${namespace}/${name} does not exist.` };
    }
    const status = rolloutStatus(deployment);
    const revision = deployment.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? '';
    const observed = `revision ${revision}: ${progressLine(deployment)}`;
    const data = { revision };
    if (deployment.spec?.paused) {
      return {
        status: 'fail',
        observed,
        threshold: 'rollout complete, not paused',
        detail: `The Deployment is paused: \`kubectl rollout resume deployment/${name} -n ${namespace}\` or finish the change that paused it.`,
        data,
      };
    }
    if (status.state !== 'complete') {
      return {
        status: 'fail',
        observed,
        threshold: 'rollout complete, not paused',
        detail: `A rollout is in progress (${status.message}). Wait for it: \`kubectl rollout status deployment/${name} -n ${namespace}\`.`,
        data,
      };
    }
    return { status: 'pass', observed, threshold: 'rollout complete, not paused', data };
  });
}
