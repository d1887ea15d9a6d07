/**
 * `plan: true` on the rollback: what it would run (helm argv or API writes), the revision it returns
 * to and the object diff between what runs and what would run, from reads alone.
 */
import type * as k8s from '@kubernetes/client-node';
import { detectHelm } from '@veloz/shared/helm/cli';
import { listReleaseRevisions, PENDING_STATUSES, readReleaseRevision } from '@veloz/shared/helm/history';
import type { KubeSession } from '@veloz/shared/kube/session';
import { PRE_CANARY_REPLICAS_ANNOTATION } from '@veloz/shared/kube/deployment-edits';
import { greenName, imageOf } from '@veloz/shared/kube/green';
import { normalizeVersion, rejectedConfigMapName } from '@veloz/shared/kube/rejected-versions';
import { diffManifests, parseManifest } from '@veloz/shared/plan/diff';
import { asManifest, suspendedHpa } from '@veloz/shared/plan/deployment-edit';
import { commandLine, type DeployPlan } from '@veloz/shared/plan/model';
import type { CanaryToAbort } from './abort';
import { helmRollbackArgs } from './apply';
import { describeRevision, versionOf } from './describe';
import { rejectedVersionOf } from './reject';
import type { RollbackSettings } from './inputs';
import type { Plan } from './plan';

interface RollbackPlanInput {
  s: Readonly<RollbackSettings>;
  session: KubeSession;
  plan?: Plan;
  abort?: CanaryToAbort;
  greenLeft?: boolean;
}

export async function planRollbackChanges(rollback: RollbackPlanInput): Promise<DeployPlan> {
  const { namespace, deployment } = rollback.s.target;
  if (rollback.abort?.green) {
    const green = rollback.abort.green;
    return {
      operation: 'rollback (abort the canary)',
      commands: [
        `delete Deployment ${green.metadata?.name} -n ${namespace} (green; the release is left as it is)`,
        rejectionLine(rollback.s, normalizeVersion(versionOf(imageOf(green)))),
      ],
      target: 'no new revision: the release keeps running what it runs',
      changes: diffManifests([asManifest('Deployment', rollback.abort.green)], []),
    };
  }
  const plan = rollback.plan!;
  const release = rollback.s.target.driver === 'helm' ? await planHelm(rollback, plan) : planKubectl(rollback, plan);
  release.commands.push(rejectionLine(rollback.s, rejectedVersionOf(plan)));
  if (rollback.greenLeft)
    release.commands.push(`delete Deployment ${greenName(deployment)} -n ${namespace} (green left beside the release)`);
  return release;
}

function rejectionLine(s: Readonly<RollbackSettings>, version: string): string {
  const { namespace, release } = s.target;
  return `update ConfigMap ${rejectedConfigMapName(release)} -n ${namespace}: v${version} rejected (preflight refuses it without override-reason)`;
}

async function planHelm(r: RollbackPlanInput, plan: Plan): Promise<DeployPlan> {
  const { namespace, release } = r.s.target;
  const kube = r.session.kube;
  const revisions = await listReleaseRevisions(kube, namespace, release);
  const manifestOf = async (revision: number): Promise<string> => {
    const record = revisions.find((x) => x.revision === revision);
    return record ? (await readReleaseRevision(kube, namespace, record)).manifest : '';
  };
  const commands: string[] = [];
  const latest = plan.latest;
  if (latest && PENDING_STATUSES.has(latest.status))
    commands.push(`mark helm revision ${latest.revision} failed (stuck in ${latest.status})`);
  const helm = await detectHelm();
  commands.push(commandLine(['helm', ...helmRollbackArgs(r.s, plan, helm.major)]));
  const now = latest ? await manifestOf(latest.revision) : '';
  return {
    operation: 'rollback',
    commands,
    target: `helm revision ${(latest?.revision ?? 0) + 1}, a copy of ${describeRevision(plan.to)} (now ${describeRevision(plan.from)})`,
    changes: diffManifests(parseManifest(now), parseManifest(await manifestOf(plan.to.revision))),
  };
}

/** What kubectlUndo writes: the chosen ReplicaSet's template, the pre-canary size, the autoscaler back. */
function planKubectl(r: RollbackPlanInput, plan: Plan): DeployPlan {
  const { namespace, deployment: name } = r.s.target;
  const after: k8s.V1Deployment = structuredClone(plan.deployment);
  const template = structuredClone(plan.replicaSet!.spec!.template!);
  delete template.metadata?.labels?.['pod-template-hash'];
  if (after.spec) after.spec.template = template;
  const preCanary = Number(plan.deployment.metadata?.annotations?.[PRE_CANARY_REPLICAS_ANNOTATION]);
  if (after.spec && Number.isInteger(preCanary) && preCanary > 0) after.spec.replicas = preCanary;
  const commands = [
    `update Deployment ${name} -n ${namespace}: the pod template of ReplicaSet ${plan.replicaSet!.metadata?.name} (${describeRevision(plan.to)})`,
  ];
  const next = [asManifest('Deployment', after)];
  const hpa = suspendedHpa(plan.deployment);
  if (hpa) {
    next.push(hpa);
    commands.push(`create HorizontalPodAutoscaler ${hpa.metadata?.name} -n ${namespace} (restored)`);
  }
  return {
    operation: 'rollback',
    commands,
    target: `Deployment ${name}: ${describeRevision(plan.to)} as a new revision (now ${describeRevision(plan.from)})`,
    changes: diffManifests([asManifest('Deployment', plan.deployment)], next),
  };
}
