/**
 * Where a rollback goes: the revision asked for, or the previous good one — the newest healthy
 * revision that runs a different version than the current one. ("Previous" in helm history is often
 * this same bad release's canary revision; returning there would keep the bad version.)
 */
import type * as k8s from '@kubernetes/client-node';
import {
  deploymentImage,
  listReleaseRevisions,
  readReleaseRevision,
  type ReleaseRevision,
} from '@veloz/shared/helm/history';
import type { Kube } from '@veloz/shared/kube/client';
import { REVISION_ANNOTATION, replicaSetHistory } from '@veloz/shared/kube/pods';
import { previousGoodRevision } from '@veloz/shared/previous-good';
import type { RollbackSettings } from './inputs';

export interface RevisionInfo {
  revision: number;
  image: string;
  status?: string;
}

export interface Plan {
  deployment: k8s.V1Deployment;
  container: string;
  from: RevisionInfo;
  to: RevisionInfo;
  /** helm only: the latest revision record, for stuck-release recovery. */
  latest?: ReleaseRevision;
  /** helm only: how the latest revision was applied (`ssa` by helm 4). */
  latestApplyMethod?: string;
  /** kubectl only: the ReplicaSet whose template is restored. */
  replicaSet?: k8s.V1ReplicaSet;
  available: RevisionInfo[];
}

export class UnknownRevisionError extends Error {
  constructor(revision: number, available: RevisionInfo[], command: string) {
    super(
      `Revision ${revision} does not exist. Available (like \`${command}\`):\n` +
        available.map((r) => `  ${String(r.revision).padEnd(8)} ${(r.status ?? '').padEnd(16)} ${r.image}`).join('\n'),
    );
    this.name = 'UnknownRevisionError';
  }
}

export class NothingToRollBackToError extends Error {}

export async function planRollback(kube: Kube, settings: Readonly<RollbackSettings>): Promise<Plan> {
  const { namespace, deployment: name } = settings.target;
  const reading = kube.apps.readNamespacedDeployment({ name, namespace });
  if (settings.target.driver !== 'helm') return planKubectl(kube, settings, await reading);
  // The release history does not depend on the Deployment: both are read at once.
  const [deployment, history] = await Promise.all([reading, readHelmHistory(kube, settings)]);
  return planHelm(settings, deployment, history);
}

function containerOf(deployment: k8s.V1Deployment): string {
  return deployment.spec?.template?.spec?.containers?.[0]?.name ?? '';
}

interface HelmHistory {
  latest?: ReleaseRevision;
  /** Every revision, oldest first, with what it runs. */
  available: RevisionInfo[];
  latestApplyMethod?: string;
}

async function readHelmHistory(kube: Kube, s: Readonly<RollbackSettings>): Promise<HelmHistory> {
  const { namespace, release, deployment: name } = s.target;
  const revisions = await listReleaseRevisions(kube, namespace, release);
  const latest = revisions[revisions.length - 1];
  // Every revision at once: the latest is the one rolled back from, the others are the candidates.
  const details = await Promise.all(revisions.map((r) => readReleaseRevision(kube, namespace, r)));
  const available = details.map((d) => ({
    revision: d.revision,
    status: d.status,
    image: deploymentImage(d.manifest, name) ?? d.appVersion,
  }));
  return { latest, available, latestApplyMethod: details[details.length - 1]?.applyMethod };
}

async function planHelm(s: Readonly<RollbackSettings>, deployment: k8s.V1Deployment, h: HelmHistory): Promise<Plan> {
  const { namespace, release } = s.target;
  const { latest, available } = h;
  const from = available[available.length - 1];
  if (!latest || !from) throw new NothingToRollBackToError(`Helm release ${release} has no history in ${namespace}.`);
  let to: RevisionInfo | undefined;
  if (s.toRevision !== undefined) {
    to = available.find((r) => r.revision === s.toRevision);
    if (!to) throw new UnknownRevisionError(s.toRevision, available, `helm history ${release} -n ${namespace}`);
  } else {
    to = await previousGoodRevision(available, (r) => r.image !== from.image, from.revision);
    if (!to) {
      throw new NothingToRollBackToError(
        `No earlier good revision of ${release} runs something other than ${from.image}; name one with \`to-revision\` (see \`helm history ${release} -n ${namespace}\`).`,
      );
    }
  }
  return {
    deployment,
    container: containerOf(deployment),
    from,
    to,
    latest,
    latestApplyMethod: h.latestApplyMethod,
    available,
  };
}

async function planKubectl(kube: Kube, s: Readonly<RollbackSettings>, deployment: k8s.V1Deployment): Promise<Plan> {
  const { namespace, deployment: name } = s.target;
  const container = containerOf(deployment);
  const owned = await replicaSetHistory(kube, namespace, deployment, container);
  const current = Number(deployment.metadata?.annotations?.[REVISION_ANNOTATION]);
  const from: RevisionInfo = {
    revision: current,
    image: deployment.spec?.template?.spec?.containers?.find((c) => c.name === container)?.image ?? '',
  };
  const available: RevisionInfo[] = owned.map((x) => ({ revision: x.revision, image: x.image }));
  let target = s.toRevision !== undefined ? owned.find((x) => x.revision === s.toRevision) : undefined;
  if (s.toRevision !== undefined && !target) {
    throw new UnknownRevisionError(
      s.toRevision,
      available,
      `kubectl rollout history deployment/${name} -n ${namespace}`,
    );
  }
  target ??= await previousGoodRevision(owned, (x) => x.image !== from.image, current);
  if (!target) {
    throw new NothingToRollBackToError(
      `Deployment ${name} has no earlier revision running something other than ${from.image} (see \`kubectl rollout history deployment/${name} -n ${namespace}\`).`,
    );
  }
  return {
    deployment,
    container,
    from,
    to: { revision: target.revision, image: target.image },
    replicaSet: target.rs,
    available,
  };
}
