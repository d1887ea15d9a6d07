/** Runbook §1.1 "Network policies in place": a NetworkPolicy selects the engine's pods. */
import { type Check, defineCheck } from '@veloz/shared/checks';
import type { Kube } from '@veloz/shared/kube/client';
import { isNotFound } from '@veloz/shared/kube/errors';
import type { TargetSettings } from '@veloz/shared/target';

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export function networkPolicyCheck(kube: Kube, target: TargetSettings, timeoutMs: number): Check {
  const { namespace, deployment: name } = target;
  return defineCheck('network-policy', 'Network policies', timeoutMs, async () => {
    const threshold = 'at least one NetworkPolicy selects the engine pods';
    let labels: Record<string, string>;
    try {
      const deployment = await kube.apps.readNamespacedDeployment({ name, namespace });
      labels = deployment.spec?.template.metadata?.labels ?? {};
    } catch (error) {
      if (!isNotFound(error)) throw error;
      return {
        status: 'fail',
        observed: 'no Deployment',
        threshold,
        detail: `Deployment ${namespace}/${name} does not exist, so its pods' policies cannot be checked.`,
      };
    }
    // Built here from the same kubeconfig: the shared client set has no networking API yet.
    const networking = kube.config.makeApiClient(kube.lib.NetworkingV1Api);
    const policies = (await networking.listNamespacedNetworkPolicy({ namespace })).items;
    const selecting = policies
      .filter((p) => selects((p.spec?.podSelector ?? {}) as LabelSelector, labels))
      .map((p) => `${p.metadata?.name ?? '?'} (${(p.spec?.policyTypes ?? ['Ingress']).join('+')})`);
    const observed = `${selecting.length} of ${policies.length} NetworkPolicies select the engine pods`;
    const data = { policies: selecting };
    if (selecting.length > 0)
      return { status: 'pass', observed: `${observed}: ${selecting.join(', ')}`, threshold, data };
    const shown = Object.entries(labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    return {
      status: 'fail',
      observed,
      threshold,
      detail: `No NetworkPolicy in ${namespace} selects pods labelled ${shown || '(none)'}: the engine accepts traffic from anywhere. Apply the chart's policy, then check with \`kubectl get networkpolicy -n ${namespace}\`.`,
      data,
    };
  });
}

/** Kubernetes label-selector semantics; the empty selector selects every pod of the namespace. */
export function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  const byLabel = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpression = (selector.matchExpressions ?? []).every((e) => {
    const has = e.key in labels;
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In':
        return has && values.includes(labels[e.key]!);
      case 'NotIn':
        return !has || !values.includes(labels[e.key]!);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        return false;
    }
  });
  return byLabel && byExpression;
}
