import { forceConflicts, goDuration, runHelm, type Helm } from '@veloz/shared/helm/cli';
import type { Kube } from '@veloz/shared/kube/client';
import type { CanarySettings } from './inputs';
import {
  PRE_CANARY_REPLICAS_ANNOTATION,
  mutateDeployment,
  restoreHpa,
  suspendHpa,
} from '@veloz/shared/kube/deployment-edits';
import type { Desired } from './release-state';

/**
 * Runbook §2.2 steps 2 and 4, exactly the runbook's command shape, as argv. The tag goes through
 * --set-string: `--set tag=1.10` would reach the chart as the number 1.1.
 */
export function helmUpgradeArgs(
  settings: Readonly<CanarySettings>,
  want: Desired,
  helmMajor = 3,
  previousApplyMethod?: string,
  wait = true,
): string[] {
  return [
    ...releaseArgs('upgrade', settings, want),
    // A held promotion applies to a paused Deployment: helm 3's --wait counts it ready at once
    // (ready.go's pausedAsReady), helm 4's kstatus watcher would wait for a rollout that cannot start
    // until we unpause. Without --wait helm only applies; the rollout is tracked on the watch API.
    ...(wait ? ['--wait'] : []),
    '--timeout',
    goDuration(settings.timeoutMs),
    ...forceConflicts(helmMajor, previousApplyMethod),
  ];
}

/**
 * Side-by-side canary: the manifests promotion will apply (`helm upgrade`'s chart, values files,
 * --sets, version, full size, autoscaling on) rendered locally, from which green takes its pod spec.
 */
export function helmTemplateArgs(settings: Readonly<CanarySettings>): string[] {
  return releaseArgs('template', settings, {
    version: settings.version,
    replicas: settings.replicas,
    autoscaling: true,
  });
}

/** The release, chart, values and the phase's version, size and autoscaling: one shape for both commands. */
export function releaseArgs(
  command: 'upgrade' | 'template',
  settings: Readonly<CanarySettings>,
  want: Desired,
): string[] {
  return [
    command,
    settings.target.release,
    settings.helm.chart ?? '',
    '-n',
    settings.target.namespace,
    ...settings.helm.valuesFiles.flatMap((file) => ['-f', file]),
    ...settings.helm.set.flatMap((entry) => ['--set', entry]),
    '--set-string',
    `${settings.helm.imageTagKey}=${want.version}`,
    '--set',
    `${settings.helm.replicaKey}=${want.replicas}`,
    '--set',
    `${settings.helm.autoscalingKey}=${want.autoscaling}`,
  ];
}

export async function helmUpgrade(
  helm: Helm,
  settings: Readonly<CanarySettings>,
  want: Desired,
  env: Record<string, string>,
  onLine: (line: string) => void,
  signal: AbortSignal,
  previousApplyMethod: string | undefined,
  wait = true,
): Promise<void> {
  await runHelm(helm, helmUpgradeArgs(settings, want, helm.major, previousApplyMethod, wait), { env, onLine, signal });
}

/**
 * Runbook §2.3, the kubectl alternative, through the API: image and replicas on the Deployment.
 * Autoscaling off means the HPA is set aside (its spec kept in an annotation) so it cannot scale the
 * canary; promotion restores it.
 */
export async function kubectlApply(
  kube: Kube,
  settings: Readonly<CanarySettings>,
  want: Desired,
  containerName: string,
): Promise<void> {
  const { namespace, deployment: name } = settings.target;
  const image = `${settings.image}:${want.version}`;
  if (!want.autoscaling) await suspendHpa(kube, namespace, name);
  await mutateDeployment(kube, namespace, name, (d) => {
    const container = d.spec?.template?.spec?.containers?.find((c) => c.name === containerName);
    if (!container || !d.spec) throw new Error(`container ${containerName} disappeared from ${name}`);
    container.image = image;
    // Remember the pre-canary size so a rollback of a failed canary restores it, not the canary's.
    const annotations = { ...(d.metadata?.annotations ?? {}) };
    if (want.autoscaling) delete annotations[PRE_CANARY_REPLICAS_ANNOTATION];
    else annotations[PRE_CANARY_REPLICAS_ANNOTATION] ??= String(d.spec.replicas ?? 1);
    d.metadata = { ...d.metadata, annotations };
    d.spec.replicas = want.replicas;
  });
  if (want.autoscaling) await restoreHpa(kube, namespace, name);
}
