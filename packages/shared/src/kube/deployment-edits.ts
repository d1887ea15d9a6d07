/**
 * Small, conflict-safe edits of a Deployment and its autoscaler that canary and rollback share.
 * Autoscaling "off" sets the HPA aside with its spec kept in an annotation, so it can be restored
 * exactly (by promotion, or by a rollback of a failed canary).
 */
import type * as k8s from '@kubernetes/client-node';
import { autoscalerOf } from './autoscaler';
import type { Kube } from './client';
import { isConflict } from './errors';

export const SUSPENDED_HPA_ANNOTATION = 'veloz.io/suspended-hpa';
export const PRE_CANARY_REPLICAS_ANNOTATION = 'veloz.io/pre-canary-replicas';
/** JSON record of the last rollback, so a re-run never rolls back past its target. */
export const ROLLED_BACK_ANNOTATION = 'veloz.io/rolled-back';

export async function suspendHpa(kube: Kube, namespace: string, name: string): Promise<void> {
  const hpa = await autoscalerOf(kube, namespace, name);
  if (!hpa) return;
  const saved = JSON.stringify({ name: hpa.metadata?.name, labels: hpa.metadata?.labels, spec: hpa.spec });
  await annotate(kube, namespace, name, { [SUSPENDED_HPA_ANNOTATION]: saved });
  await kube.autoscaling.deleteNamespacedHorizontalPodAutoscaler({ name: hpa.metadata?.name ?? '', namespace });
}

export async function restoreHpa(kube: Kube, namespace: string, name: string): Promise<void> {
  const d = await kube.apps.readNamespacedDeployment({ name, namespace });
  const saved = d.metadata?.annotations?.[SUSPENDED_HPA_ANNOTATION];
  if (!saved) return;
  const {
    name: hpaName,
    labels,
    spec,
  } = JSON.parse(saved) as {
    name: string;
    labels?: Record<string, string>;
    spec: k8s.V2HorizontalPodAutoscalerSpec;
  };
  await kube.autoscaling.createNamespacedHorizontalPodAutoscaler({
    namespace,
    body: { apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: hpaName, labels }, spec },
  });
  await annotate(kube, namespace, name, { [SUSPENDED_HPA_ANNOTATION]: null });
}

/**
 * Sets (or with null, removes) Deployment annotations with a JSON merge patch, so this client owns
 * only those annotations — not the whole object, which would make a later helm 4 server-side apply
 * conflict with us.
 */
export async function annotate(
  kube: Kube,
  namespace: string,
  name: string,
  values: Record<string, string | null>,
): Promise<void> {
  await kube.apps.patchNamespacedDeployment(
    { name, namespace, body: { metadata: { annotations: values } }, fieldManager: 'veloz-deploy-actions' },
    kube.lib.setHeaderOptions('Content-Type', kube.lib.PatchStrategy.MergePatch),
  );
}

/** Read-modify-replace with optimistic concurrency: a 409 means someone wrote first, so read again. */
export async function mutateDeployment(
  kube: Kube,
  namespace: string,
  name: string,
  mutate: (d: k8s.V1Deployment) => void,
  /** The Deployment as the caller last read it, tried first to save a read: if it changed since, the 409 reads anew. */
  current?: k8s.V1Deployment,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const d =
      attempt === 0 && current
        ? structuredClone(current)
        : await kube.apps.readNamespacedDeployment({ name, namespace });
    mutate(d);
    try {
      await kube.apps.replaceNamespacedDeployment({ name, namespace, body: d });
      return;
    } catch (error) {
      if (!isConflict(error) || attempt >= 4) throw error;
    }
  }
}
