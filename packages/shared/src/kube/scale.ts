import type { Kube } from './client';
import { mutateDeployment } from './deployment-edits';
import type { RolloutResult } from './rollout';
import { applyTracked, type TrackedChangeOptions } from './tracked-change';

/** Sets the Deployment's replicas and tracks the rollout that follows. */
export async function scaleTracked(
  kube: Kube,
  options: Omit<TrackedChangeOptions, 'apply' | 'generationBefore'>,
  replicas: number,
): Promise<RolloutResult> {
  const d = await kube.apps.readNamespacedDeployment({ name: options.deployment, namespace: options.namespace });
  return applyTracked(kube, {
    ...options,
    generationBefore: d.metadata?.generation ?? 0,
    apply: () =>
      mutateDeployment(kube, options.namespace, options.deployment, (fresh) => {
        if (fresh.spec) fresh.spec.replicas = replicas;
      }),
  });
}
