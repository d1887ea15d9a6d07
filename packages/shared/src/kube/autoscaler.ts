import type * as k8s from '@kubernetes/client-node';
import type { Kube } from './client';

/** The HorizontalPodAutoscaler that scales Deployment `name`, if any: the one lookup canary and rollback use. */
export async function autoscalerOf(
  kube: Kube,
  namespace: string,
  name: string,
): Promise<k8s.V2HorizontalPodAutoscaler | undefined> {
  const list = await kube.autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace });
  return list.items.find((h) => h.spec?.scaleTargetRef?.kind === 'Deployment' && h.spec.scaleTargetRef.name === name);
}
