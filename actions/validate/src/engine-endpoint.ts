/**
 * How validate reaches the engine it judges — a URL, or a pod or service through the API server's proxy —
 * which pods those are (for their logs) and how Prometheus selects them. (Not the release target:
 * that is @veloz/shared/target.)
 */
import type * as k8s from '@kubernetes/client-node';
import { urlEndpoint, type HttpEndpoint } from '@veloz/shared/http/endpoint';
import { connectKube, type Kube } from '@veloz/shared/kube/client';
import { displayUrl } from '@veloz/shared/secrets';
import { findGreen, greenName, greenPods } from '@veloz/shared/kube/green';
import { currentReplicaSet, labelSelector } from '@veloz/shared/kube/pods';
import { proxyEndpoint } from '@veloz/shared/kube/proxy';
import type { ValidateSettings } from './inputs';

/** The resolved target: how to reach it, which pods it is, and how Prometheus selects it. */
export interface ResolvedTarget {
  endpoint: HttpEndpoint;
  kube?: Kube;
  /** Pods whose logs the logs check reads. */
  pods: string[];
  /** PromQL label matchers for `$selector`. */
  selector: string;
  description: string;
}

export async function resolveTarget(
  settings: Readonly<ValidateSettings>,
  needKube: boolean,
  log?: (line: string) => void,
): Promise<ResolvedTarget> {
  const { namespace } = settings.target;
  const e = settings.endpoint;
  if (e.kind === 'url' && !needKube) {
    return { endpoint: urlEndpoint(e.url), pods: [], selector: '', description: displayUrl(e.url) };
  }
  const kube = await connectKube(settings.target.kubeconfig, log);
  if (e.kind === 'url') {
    return { endpoint: urlEndpoint(e.url), kube, pods: [], selector: '', description: displayUrl(e.url) };
  }
  if (e.kind === 'service') {
    const deployment = await kube.apps.readNamespacedDeployment({ name: settings.target.deployment, namespace });
    const pods = await podsOf(kube, deployment);
    return {
      endpoint: await proxyEndpoint(kube, 'services', namespace, e.service, e.port),
      kube,
      pods,
      selector: `namespace="${namespace}"`,
      description: `service ${e.service} (${pods.length} pods)`,
    };
  }
  const pod = e.pod === 'canary' ? await canaryPod(kube, settings) : e.pod;
  return {
    endpoint: await proxyEndpoint(kube, 'pods', namespace, pod, e.port),
    kube,
    pods: [pod],
    selector: `namespace="${namespace}",pod="${pod}"`,
    description: e.pod === 'canary' ? `canary pod ${pod}` : `pod ${pod}`,
  };
}

/**
 * The green pod: the newest pod of `<deployment>-green` when a side-by-side canary runs, else of the
 * Deployment's current ReplicaSet (in-place canary). Ready or not: an unready canary must fail here.
 */
async function canaryPod(kube: Kube, s: Readonly<ValidateSettings>): Promise<string> {
  const { namespace, deployment: name } = s.target;
  if (await findGreen(kube, namespace, name)) {
    const newest = (await greenPods(kube, namespace, name)).sort((a, b) => created(b) - created(a))[0];
    if (!newest?.metadata?.name) throw new Error(`Green ${greenName(name)} has no pods: is the canary deployed?`);
    return newest.metadata.name;
  }
  const deployment = await kube.apps.readNamespacedDeployment({ name, namespace });
  const rs = await currentReplicaSet(kube, deployment);
  const hash = rs?.metadata?.labels?.['pod-template-hash'];
  if (!hash) throw new Error(`Deployment ${namespace}/${name} has no current ReplicaSet yet: is the canary deployed?`);
  const list = await kube.core.listNamespacedPod({
    namespace,
    labelSelector: labelSelector({ ...deployment.spec?.selector?.matchLabels, 'pod-template-hash': hash }),
  });
  const newest = list.items.filter((p) => !p.metadata?.deletionTimestamp).sort((a, b) => created(b) - created(a))[0];
  if (!newest?.metadata?.name)
    throw new Error(`The current ReplicaSet of ${name} has no pods: is the canary deployed?`);
  return newest.metadata.name;
}

async function podsOf(kube: Kube, deployment: k8s.V1Deployment): Promise<string[]> {
  const list = await kube.core.listNamespacedPod({
    namespace: deployment.metadata?.namespace ?? '',
    labelSelector: labelSelector(deployment.spec?.selector?.matchLabels),
  });
  return list.items.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata?.name ?? '');
}

function created(pod: k8s.V1Pod): number {
  return pod.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp).getTime() : 0;
}
