import { type Check, defineCheck } from '@veloz/shared/checks';
import type { Kube } from '@veloz/shared/kube/client';
import { isNotFound } from '@veloz/shared/kube/errors';
import type { TargetSettings } from '@veloz/shared/target';

/** Runbook §1.2 step 1–2: nodes Ready, the namespace and the Deployment there, what it runs now. */
export function clusterCheck(kube: Kube, target: TargetSettings, timeoutMs: number): Check {
  return defineCheck('cluster', 'Kubernetes cluster healthy', timeoutMs, async () => {
    const { namespace, deployment: name } = target;
    const [nodes, namespaceFound, deployment] = await Promise.all([
      kube.core.listNode(),
      kube.core.readNamespace({ name: namespace }).then(
        () => true,
        (e: unknown) => (isNotFound(e) ? false : Promise.reject(e)),
      ),
      kube.apps
        .readNamespacedDeployment({ name, namespace })
        .catch((e: unknown) => (isNotFound(e) ? undefined : Promise.reject(e))),
    ]);
    const notReady = nodes.items
      .map((node) => ({ node, ready: node.status?.conditions?.find((c) => c.type === 'Ready') }))
      .filter(({ ready }) => ready?.status !== 'True')
      .map(
        ({ node, ready }) =>
          `${node.metadata?.name} (${ready ? `${ready.reason ?? 'NotReady'}${ready.message ? `: ${ready.message}` : ''}` : 'no Ready condition'})`,
      );
    const readyCount = nodes.items.length - notReady.length;
    const images = deployment?.spec?.template?.spec?.containers?.map((c) => c.image ?? '') ?? [];
    const revision = deployment?.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? '';
    const desired = deployment?.spec?.replicas ?? 0;
    const ready = deployment?.status?.readyReplicas ?? 0;
    const data = {
      nodes: nodes.items.length,
      readyNodes: readyCount,
      images,
      revision,
      replicas: desired,
      readyReplicas: ready,
    };
    const observed = [
      `${readyCount}/${nodes.items.length} nodes Ready`,
      deployment
        ? `${name}: ${images.join(', ')} (revision ${revision}, ${ready}/${desired} ready)`
        : `${name}: not found`,
    ].join('; ');
    const problems: string[] = [];
    if (nodes.items.length === 0) problems.push('the cluster has no nodes');
    if (notReady.length > 0) problems.push(`not Ready: ${notReady.join(', ')}`);
    if (!namespaceFound) problems.push(`namespace ${namespace} does not exist`);
    if (!deployment) problems.push(`Deployment ${namespace}/${name} does not exist (check the \`deployment\` input)`);
    if (problems.length > 0) {
      return {
        status: 'fail',
        observed,
        threshold: 'every node Ready; namespace and Deployment present',
        detail: `${problems.join('; ')}. Next: \`kubectl get nodes\` and \`kubectl get deployment ${name} -n ${namespace}\`.`,
        data,
      };
    }
    const degraded = ready < desired;
    return {
      status: degraded ? 'warn' : 'pass',
      observed,
      threshold: 'every node Ready; namespace and Deployment present',
      detail: degraded ? `only ${ready} of ${desired} current replicas are ready before the deploy` : undefined,
      data,
    };
  });
}
