import type * as k8s from '@kubernetes/client-node';
import { goDuration, runHelm, type Helm } from '@veloz/shared/helm/cli';
import type { Kube } from '@veloz/shared/kube/client';
import { isConflict } from '@veloz/shared/kube/errors';
import type { CanarySettings } from './inputs';
import { SUSPENDED_HPA_ANNOTATION, type Desired } from './state';

/**
 * Runbook §2.2 steps 2 and 4, exactly the runbook's command shape, as argv. The tag goes through
 * --set-string: `--set tag=1.10` would reach the chart as the number 1.1.
 */
export function helmUpgradeArgs(s: Readonly<CanarySettings>, want: Desired): string[] {
  return [
    'upgrade',
    s.target.release,
    s.helm.chart ?? '',
    '-n',
    s.target.namespace,
    ...s.helm.valuesFiles.flatMap((file) => ['-f', file]),
    ...s.helm.set.flatMap((entry) => ['--set', entry]),
    '--set-string',
    `${s.helm.imageTagKey}=${want.version}`,
    '--set',
    `${s.helm.replicaKey}=${want.replicas}`,
    '--set',
    `${s.helm.autoscalingKey}=${want.autoscaling}`,
    '--wait',
    '--timeout',
    goDuration(s.timeoutMs),
  ];
}

export async function helmUpgrade(
  helm: Helm,
  s: Readonly<CanarySettings>,
  want: Desired,
  env: Record<string, string>,
  onLine: (line: string) => void,
  signal: AbortSignal,
): Promise<void> {
  await runHelm(helm, helmUpgradeArgs(s, want), { env, onLine, signal });
}

/**
 * Runbook §2.3, the kubectl alternative, through the API: image and replicas on the Deployment.
 * Autoscaling off means the HPA is set aside (its spec kept in an annotation) so it cannot scale the
 * canary; promotion restores it.
 */
export async function kubectlApply(
  kube: Kube,
  s: Readonly<CanarySettings>,
  want: Desired,
  containerName: string,
): Promise<void> {
  const { namespace, deployment: name } = s.target;
  const image = `${s.image}:${want.version}`;
  if (!want.autoscaling) await suspendHpa(kube, namespace, name);
  await mutateDeployment(kube, namespace, name, (d) => {
    const container = d.spec?.template?.spec?.containers?.find((c) => c.name === containerName);
    if (!container || !d.spec) throw new Error(`container ${containerName} disappeared from ${name}`);
    container.image = image;
    d.spec.replicas = want.replicas;
  });
  if (want.autoscaling) await restoreHpa(kube, namespace, name);
}

async function suspendHpa(kube: Kube, namespace: string, name: string): Promise<void> {
  const hpas = await kube.autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace });
  const hpa = hpas.items.find(
    (h) => h.spec?.scaleTargetRef?.kind === 'Deployment' && h.spec.scaleTargetRef.name === name,
  );
  if (!hpa) return;
  const saved = JSON.stringify({ name: hpa.metadata?.name, labels: hpa.metadata?.labels, spec: hpa.spec });
  await annotate(kube, namespace, name, { [SUSPENDED_HPA_ANNOTATION]: saved });
  await kube.autoscaling.deleteNamespacedHorizontalPodAutoscaler({ name: hpa.metadata?.name ?? '', namespace });
}

async function restoreHpa(kube: Kube, namespace: string, name: string): Promise<void> {
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

/** Sets (or with null, removes) Deployment annotations without touching the pod template. */
export async function annotate(
  kube: Kube,
  namespace: string,
  name: string,
  values: Record<string, string | null>,
): Promise<void> {
  await mutateDeployment(kube, namespace, name, (d) => {
    const annotations = { ...(d.metadata?.annotations ?? {}) };
    for (const [k, v] of Object.entries(values)) {
      if (v === null) delete annotations[k];
      else annotations[k] = v;
    }
    d.metadata = { ...d.metadata, annotations };
  });
}

/** Read-modify-replace with optimistic concurrency: a 409 means someone wrote first, so read again. */
export async function mutateDeployment(
  kube: Kube,
  namespace: string,
  name: string,
  mutate: (d: k8s.V1Deployment) => void,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const d = await kube.apps.readNamespacedDeployment({ name, namespace });
    mutate(d);
    try {
      await kube.apps.replaceNamespacedDeployment({ name, namespace, body: d });
      return;
    } catch (error) {
      if (!isConflict(error) || attempt >= 4) throw error;
    }
  }
}
