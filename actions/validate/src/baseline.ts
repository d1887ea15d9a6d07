/**
 * Kayenta-style canary analysis: the canary's per-pass error rates and p99s against those of a
 * stable baseline measured in the same passes, judged with Mann-Whitney U.
 */
import type { HttpEndpoint } from '@veloz/shared/http/endpoint';
import { bluePods, findGreen } from '@veloz/shared/kube/green';
import { currentReplicaSet, isPodReady, labelSelector } from '@veloz/shared/kube/pods';
import { proxyEndpoint } from '@veloz/shared/kube/proxy';
import type { Section } from '@veloz/shared/report';
import type { ValidateSettings } from './inputs';
import { compareCanary, type ComparisonResult } from './mann-whitney';
import type { ResolvedTarget } from './engine-endpoint';

export const BASELINE_CHECK = 'baseline';

/** `stable` means a Ready blue pod beside green, or (in place) a Ready pod outside the current ReplicaSet. */
export async function resolveBaseline(
  settings: Readonly<ValidateSettings>,
  target: ResolvedTarget,
): Promise<HttpEndpoint> {
  const kube = target.kube;
  if (!kube) throw new Error('the baseline is reached through the API server: give a kubeconfig');
  const { namespace, deployment: name } = settings.target;
  const port = settings.endpoint.kind === 'url' ? '8080' : settings.endpoint.port;
  if (settings.baseline !== 'stable') return proxyEndpoint(kube, 'pods', namespace, settings.baseline ?? '', port);
  const deployment = await kube.apps.readNamespacedDeployment({ name, namespace });
  // Side by side, blue is the stable version, serving the same traffic over the same window.
  if (await findGreen(kube, namespace, name)) {
    const blue = (await bluePods(kube, deployment)).find(isPodReady);
    if (!blue?.metadata?.name) throw new Error(`no Ready blue pod of ${name} to compare green with`);
    return proxyEndpoint(kube, 'pods', namespace, blue.metadata.name, port);
  }
  const hash = (await currentReplicaSet(kube, deployment))?.metadata?.labels?.['pod-template-hash'];
  const pods = await kube.core.listNamespacedPod({
    namespace,
    labelSelector: labelSelector(deployment.spec?.selector?.matchLabels),
  });
  const stable = pods.items.find((p) => isPodReady(p) && p.metadata?.labels?.['pod-template-hash'] !== hash);
  if (!stable?.metadata?.name) {
    throw new Error(
      `no stable pod to compare with: every Ready pod of ${name} runs the current ReplicaSet (the canary replaced them); name a baseline pod instead`,
    );
  }
  return proxyEndpoint(kube, 'pods', namespace, stable.metadata.name, port);
}

export interface BaselineJudgement {
  section: Section;
  /** Metrics on which the canary is significantly worse. */
  worse: string[];
}

export type Figure = 'errorRate' | 'p99Ms';

/** Per figure, every finite value the canary's metrics check and the baseline check measured, in pass order. */
export interface ComparedValues {
  metrics: Record<Figure, number[]>;
  baseline: Record<Figure, number[]>;
}

export function judgeAgainstBaseline(values: ComparedValues, baselineName: string): BaselineJudgement {
  const rows: [string, ComparisonResult][] = [
    ['Error rate', compareCanary(values.metrics.errorRate, values.baseline.errorRate)],
    ['P99 latency', compareCanary(values.metrics.p99Ms, values.baseline.p99Ms)],
  ];
  return {
    worse: rows.filter(([, r]) => r.judgement === 'fail').map(([metric]) => metric),
    section: {
      heading: `Canary vs baseline ${baselineName} (Mann-Whitney U, one-sided)`,
      columns: ['Metric', 'Judgement', 'Statistic'],
      rows: rows.map(([metric, r]) => [metric, r.judgement, r.detail]),
    },
  };
}
