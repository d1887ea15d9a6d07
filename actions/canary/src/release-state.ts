import type * as k8s from '@kubernetes/client-node';
import {
  listReleaseRevisions,
  readReleaseRevision,
  valueAt,
  type ReleaseDetails,
  type ReleaseRevision,
} from '@veloz/shared/helm/history';
import type { Kube } from '@veloz/shared/kube/client';
import { isForbidden, isNotFound } from '@veloz/shared/kube/errors';
import { REVISION_ANNOTATION, replicaSetHistory } from '@veloz/shared/kube/pods';
import { previousGoodRevision } from '@veloz/shared/previous-good';
import { rolloutStatus } from '@veloz/shared/kube/rollout';
import { autoscalerOf } from '@veloz/shared/kube/autoscaler';
import { SUSPENDED_HPA_ANNOTATION } from '@veloz/shared/kube/deployment-edits';
import type { CanarySettings } from './inputs';

/** What the release looks like before (and after) this step touches it. */
export interface ReleaseState {
  deployment: k8s.V1Deployment;
  container: k8s.V1Container;
  image: string;
  deploymentRevision: string;
  hpa?: k8s.V2HorizontalPodAutoscaler;
  helm?: { revisions: ReleaseRevision[]; current?: ReleaseDetails };
  /** The side-by-side canary's credential may not read helm's release Secrets (by design: README). */
  historyHidden?: boolean;
}

/** The shape this phase wants: the version, its replica count, autoscaling on or off. */
export interface Desired {
  version: string;
  replicas: number;
  autoscaling: boolean;
}

export function desiredFor(settings: Readonly<CanarySettings>): Desired {
  return settings.phase === 'canary'
    ? { version: settings.version, replicas: settings.canaryReplicas, autoscaling: false }
    : { version: settings.version, replicas: settings.replicas, autoscaling: true };
}

/**
 * `historyOptional`: the side-by-side canary leaves the release alone, so its credential need not read
 * helm's release history; a 403 there leaves `helm` unset instead of failing.
 */
export async function readState(
  kube: Kube,
  settings: Readonly<CanarySettings>,
  historyOptional = false,
): Promise<ReleaseState> {
  const { namespace, deployment: name, release } = settings.target;
  let deployment: k8s.V1Deployment;
  try {
    deployment = await kube.apps.readNamespacedDeployment({ name, namespace });
  } catch (error) {
    if (isNotFound(error)) {
      throw new Error(
        `Deployment ${namespace}/${name} does not exist. The canary action upgrades an installed release; install it first (helm install) or check the \`deployment\` input.`,
        { cause: error },
      );
    }
    throw error;
  }
  const containers = deployment.spec?.template?.spec?.containers ?? [];
  const container = settings.container ? containers.find((c) => c.name === settings.container) : containers[0];
  if (!container) {
    throw new Error(
      `Deployment ${name} has no container named ${settings.container}; it has ${containers.map((c) => c.name).join(', ')}.`,
    );
  }
  const hpa = await autoscalerOf(kube, namespace, name);
  let helm: ReleaseState['helm'];
  let historyHidden = false;
  if (settings.target.driver === 'helm') {
    try {
      helm = await readHelmHistory(kube, namespace, release);
    } catch (error) {
      if (!historyOptional || !isForbidden(error)) throw error;
      historyHidden = true;
    }
  }
  return {
    historyHidden,
    deployment,
    container,
    image: container.image ?? '',
    deploymentRevision: deployment.metadata?.annotations?.[REVISION_ANNOTATION] ?? '',
    hpa,
    helm,
  };
}

async function readHelmHistory(kube: Kube, namespace: string, release: string): Promise<ReleaseState['helm']> {
  const revisions = await listReleaseRevisions(kube, namespace, release);
  const latest = revisions[revisions.length - 1];
  return { revisions, current: latest ? await readReleaseRevision(kube, namespace, latest) : undefined };
}

/** The tag of an image reference (`repo:1.1.0` -> `1.1.0`; digests and untagged -> ''). */
export function tagOf(image: string): string {
  const last = image.slice(image.lastIndexOf('/') + 1);
  return last.includes(':') && !image.includes('@') ? last.slice(last.indexOf(':') + 1) : '';
}

/**
 * Re-running a phase whose result is already live and healthy ("Re-run failed jobs") must change
 * nothing. Returns why it is already done, or undefined when there is work to do.
 */
export function alreadyDone(
  state: ReleaseState,
  settings: Readonly<CanarySettings>,
  want: Desired,
): string | undefined {
  const rollout = rolloutStatus(state.deployment);
  if (rollout.state !== 'complete' || tagOf(state.image) !== want.version) return undefined;
  if (settings.target.driver === 'helm') {
    const current = state.helm?.current;
    if (!current || current.status !== 'deployed') return undefined;
    const values = current.values;
    const same =
      String(valueAt(values, settings.helm.imageTagKey)) === want.version &&
      Number(valueAt(values, settings.helm.replicaKey)) === want.replicas &&
      String(valueAt(values, settings.helm.autoscalingKey)) === String(want.autoscaling);
    return same
      ? `Helm revision ${current.revision} already runs ${want.version} with ${want.replicas} replica(s) and autoscaling ${want.autoscaling ? 'on' : 'off'}; nothing to change.`
      : undefined;
  }
  const suspended = state.deployment.metadata?.annotations?.[SUSPENDED_HPA_ANNOTATION] !== undefined;
  const replicasOk = want.autoscaling ? !suspended : state.deployment.spec?.replicas === want.replicas && !state.hpa;
  return replicasOk && state.image === `${settings.image}:${want.version}`
    ? `Deployment revision ${state.deploymentRevision} already runs ${state.image}${want.autoscaling ? ' with autoscaling on' : ` with ${want.replicas} replica(s), autoscaling off`}; nothing to change.`
    : undefined;
}

/**
 * `previous-revision`: where rollback's default would go once this version is out (the rule is
 * shared/previous-good). The revision just before a promotion is this release's own canary.
 */
export async function previousRevision(
  kube: Kube,
  state: ReleaseState,
  settings: Readonly<CanarySettings>,
): Promise<string> {
  const { namespace } = settings.target;
  if (settings.target.driver === 'helm') {
    const current = state.helm?.current;
    const found = await previousGoodRevision(state.helm?.revisions ?? [], async (candidate) => {
      // The latest revision was read with the state already; read only older ones.
      const details =
        current?.revision === candidate.revision ? current : await readReleaseRevision(kube, namespace, candidate);
      return String(valueAt(details.values, settings.helm.imageTagKey) ?? details.appVersion) !== settings.version;
    });
    return found ? String(found.revision) : '';
  }
  const history = await replicaSetHistory(kube, namespace, state.deployment, state.container.name);
  const found = await previousGoodRevision(history, (rs) => tagOf(rs.image) !== settings.version);
  return String(found?.revision ?? '');
}
