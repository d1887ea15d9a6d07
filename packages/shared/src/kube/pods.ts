import type * as k8s from '@kubernetes/client-node';
import type { Kube } from './client';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';

export function labelSelector(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function isPodReady(pod: k8s.V1Pod): boolean {
  return (
    !pod.metadata?.deletionTimestamp &&
    pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true
  );
}

/** The ReplicaSet that carries the Deployment's current revision. */
export async function currentReplicaSet(
  kube: Kube,
  deployment: k8s.V1Deployment,
): Promise<k8s.V1ReplicaSet | undefined> {
  const namespace = deployment.metadata?.namespace ?? '';
  const revision = deployment.metadata?.annotations?.[REVISION_ANNOTATION];
  const list = await kube.apps.listNamespacedReplicaSet({
    namespace,
    labelSelector: labelSelector(deployment.spec?.selector?.matchLabels),
  });
  return list.items.find(
    (rs) =>
      rs.metadata?.annotations?.[REVISION_ANNOTATION] === revision &&
      rs.metadata?.ownerReferences?.some((o) => o.uid === deployment.metadata?.uid),
  );
}

/**
 * The pods of the Deployment's own ReplicaSets, by owner reference: a label selector also matches a
 * side-by-side green (it carries blue's selector labels to share the Service), which is not blue's.
 */
export async function ownPods(kube: Kube, deployment: k8s.V1Deployment): Promise<k8s.V1Pod[]> {
  const namespace = deployment.metadata?.namespace ?? '';
  const selector = labelSelector(deployment.spec?.selector?.matchLabels);
  const [sets, pods] = await Promise.all([
    kube.apps.listNamespacedReplicaSet({ namespace, labelSelector: selector }),
    kube.core.listNamespacedPod({ namespace, labelSelector: selector }),
  ]);
  const own = new Set(
    sets.items
      .filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.uid === deployment.metadata?.uid))
      .map((rs) => rs.metadata?.uid),
  );
  return pods.items.filter((pod) => pod.metadata?.ownerReferences?.some((o) => own.has(o.uid)));
}

/** Runbook §2.2 step 3's GREEN_POD: the newest Ready pod of the current ReplicaSet. */
export async function newestReadyPod(kube: Kube, deployment: k8s.V1Deployment): Promise<k8s.V1Pod | undefined> {
  const rs = await currentReplicaSet(kube, deployment);
  const hash = rs?.metadata?.labels?.['pod-template-hash'];
  if (!rs || !hash) return undefined;
  const selector = labelSelector({ ...deployment.spec?.selector?.matchLabels, 'pod-template-hash': hash });
  const pods = await kube.core.listNamespacedPod({
    namespace: deployment.metadata?.namespace ?? '',
    labelSelector: selector,
  });
  return pods.items
    .filter(isPodReady)
    .sort((a, b) => time(b.metadata?.creationTimestamp) - time(a.metadata?.creationTimestamp))[0];
}

/** Runbook §2.2 step 5: pods of the Deployment not running the expected image in every named container. */
export async function podsNotRunning(
  kube: Kube,
  deployment: k8s.V1Deployment,
  container: string,
  image: string,
): Promise<{ pods: number; wrong: string[] }> {
  const list = await kube.core.listNamespacedPod({
    namespace: deployment.metadata?.namespace ?? '',
    labelSelector: labelSelector(deployment.spec?.selector?.matchLabels),
  });
  const live = list.items.filter(
    (p) => !p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
  );
  const wrong = live
    .filter((p) => p.spec?.containers?.find((c) => c.name === container)?.image !== image)
    .map(
      (p) =>
        `${p.metadata?.name} (${p.spec?.containers?.find((c) => c.name === container)?.image ?? 'no such container'})`,
    );
  return { pods: live.length, wrong };
}

function time(value: Date | string | undefined): number {
  return value ? new Date(value).getTime() : 0;
}

/** A revision of a Deployment as its ReplicaSets keep it: what `kubectl rollout history` lists. */
interface ReplicaSetRevision {
  rs: k8s.V1ReplicaSet;
  revision: number;
  /** The image of the named container in that revision's template. */
  image: string;
}

/** The Deployment's own ReplicaSets with a revision, oldest first. */
export async function replicaSetHistory(
  kube: Kube,
  namespace: string,
  deployment: k8s.V1Deployment,
  container: string,
): Promise<ReplicaSetRevision[]> {
  const list = await kube.apps.listNamespacedReplicaSet({
    namespace,
    labelSelector: labelSelector(deployment.spec?.selector?.matchLabels),
  });
  return list.items
    .filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.uid === deployment.metadata?.uid))
    .map((rs) => ({
      rs,
      revision: Number(rs.metadata?.annotations?.[REVISION_ANNOTATION]),
      image: rs.spec?.template?.spec?.containers?.find((c) => c.name === container)?.image ?? '',
    }))
    .filter((x) => Number.isInteger(x.revision))
    .sort((a, b) => a.revision - b.revision);
}
