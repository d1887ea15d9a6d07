/**
 * The green Deployment of a side-by-side canary (runbook §2.1's diagram): `<deployment>-green` runs
 * the new version beside the untouched blue Deployment. Canary creates it, promotion and rollback
 * remove it, preflight reports one a crashed run left, validate finds its pod. One definition of its
 * name and labels for all of them.
 */
import type * as k8s from '@kubernetes/client-node';
import type { Clock } from '../clock';
import type { Kube } from './client';
import { isNotFound, unlessNotFound } from './errors';
import { isPodReady, labelSelector } from './pods';
import { ResumableWatch } from './watch';

const TRACK_LABEL = 'veloz.io/track';
/** Names the blue Deployment a green one belongs to, so green's selector never overlaps another's. */
const GREEN_OF_LABEL = 'veloz.io/green-of';

export type CanaryTraffic = 'share' | 'none';

/**
 * On blue, after an abort removed green: JSON {version, releaseImage, run, at}. A re-run of that
 * rollback finds it and does nothing (rolling the release back instead would go one release too far).
 * Any later change to blue (promotion, in-place canary) clears it.
 */
export const CANARY_ABORTED_ANNOTATION = 'veloz.io/canary-aborted';

/** The image a Deployment runs: its first container's (the engine's), '' when it has none. */
export function imageOf(deployment: k8s.V1Deployment): string {
  return deployment.spec?.template?.spec?.containers?.[0]?.image ?? '';
}

export function greenName(deployment: string): string {
  return `${deployment}-green`;
}

/** The selector of green's pods: unique to this blue Deployment's green, whatever the traffic mode. */
export function greenSelector(deployment: string): Record<string, string> {
  return { [TRACK_LABEL]: 'green', [GREEN_OF_LABEL]: deployment };
}

export async function findGreen(
  kube: Kube,
  namespace: string,
  deployment: string,
): Promise<k8s.V1Deployment | undefined> {
  return findGreenByName(kube, namespace, greenName(deployment));
}

export async function greenPods(kube: Kube, namespace: string, deployment: string): Promise<k8s.V1Pod[]> {
  const list = await kube.core.listNamespacedPod({
    namespace,
    labelSelector: labelSelector(greenSelector(deployment)),
  });
  return list.items.filter((p) => !p.metadata?.deletionTimestamp);
}

/** The pods of blue alone: the Deployment's selector also matches green's pods when they share traffic. */
export async function bluePods(kube: Kube, blue: k8s.V1Deployment): Promise<k8s.V1Pod[]> {
  const list = await kube.core.listNamespacedPod({
    namespace: blue.metadata?.namespace ?? '',
    labelSelector: labelSelector(blue.spec?.selector?.matchLabels),
  });
  return list.items.filter((p) => !p.metadata?.deletionTimestamp && p.metadata?.labels?.[TRACK_LABEL] !== 'green');
}

export function readyCount(pods: readonly k8s.V1Pod[]): number {
  return pods.filter(isPodReady).length;
}

interface GreenSpecOptions {
  /** Extra annotations on green (e.g. the HTTPRoute record of a weighted canary). */
  annotations?: Record<string, string>;
  /** Blue's name: green is `<deployment>-green`. */
  deployment: string;
  replicas: number;
  traffic: CanaryTraffic;
  /** Selectors of the Services that route to blue's pods; `none` leaves each one unmatched. */
  serviceSelectors: readonly Record<string, string>[];
}

/**
 * Green from a Deployment manifest of the new version (helm template's, or a copy of blue's with the
 * new image): the same pod spec, its own name, replicas and selector, `veloz.io/track: green`.
 * With `share` its pods keep blue's labels, so every Service that routes to blue routes a replica
 * share to green; with `none` one selector label of each such Service is left out.
 */
export function greenSpec(source: k8s.V1Deployment, options: GreenSpecOptions): k8s.V1Deployment {
  const template = structuredClone(source.spec?.template ?? {});
  const labels: Record<string, string> = { ...(template.metadata?.labels ?? {}) };
  if (options.traffic === 'none') {
    for (const selector of options.serviceSelectors) {
      const keys = Object.keys(selector);
      if (keys.length > 0 && keys.every((k) => labels[k] === selector[k])) delete labels[keys[keys.length - 1]!];
    }
  }
  Object.assign(labels, greenSelector(options.deployment));
  template.metadata = { ...template.metadata, labels };
  const metaLabels = { ...(source.metadata?.labels ?? {}), ...greenSelector(options.deployment) };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: greenName(options.deployment),
      namespace: source.metadata?.namespace,
      labels: metaLabels,
      annotations: { 'veloz.io/canary-traffic': options.traffic, ...options.annotations },
    },
    spec: {
      replicas: options.replicas,
      selector: { matchLabels: greenSelector(options.deployment) },
      template,
      minReadySeconds: source.spec?.minReadySeconds,
      progressDeadlineSeconds: source.spec?.progressDeadlineSeconds,
      revisionHistoryLimit: 1,
      strategy: source.spec?.strategy,
    },
  };
}

/** The Services in the namespace whose selector matches the given pod labels (the ones serving those pods). */
export async function servicesSelecting(
  kube: Kube,
  namespace: string,
  podLabels: Record<string, string>,
): Promise<k8s.V1Service[]> {
  const list = await kube.core.listNamespacedService({ namespace });
  return list.items.filter((s) => {
    const sel = s.spec?.selector ?? {};
    return Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => podLabels[k] === v);
  });
}

/** Creates green, or replaces a leftover's spec (same name, so re-running converges on one green). */
export async function applyGreen(kube: Kube, green: k8s.V1Deployment): Promise<'created' | 'replaced'> {
  const namespace = green.metadata?.namespace ?? '';
  const name = green.metadata?.name ?? '';
  const existing = await findGreenByName(kube, namespace, name);
  if (!existing) {
    await kube.apps.createNamespacedDeployment({ namespace, body: green, fieldManager: 'veloz-deploy-actions' });
    return 'created';
  }
  const body = { ...green, metadata: { ...green.metadata, resourceVersion: existing.metadata?.resourceVersion } };
  await kube.apps.replaceNamespacedDeployment({ name, namespace, body, fieldManager: 'veloz-deploy-actions' });
  return 'replaced';
}

function findGreenByName(kube: Kube, namespace: string, name: string): Promise<k8s.V1Deployment | undefined> {
  return unlessNotFound(kube.apps.readNamespacedDeployment({ name, namespace }));
}

interface RemovedGreen {
  removed: boolean;
  /** Green's pods at the time of removal. */
  pods: string[];
  durationMs: number;
}

/**
 * Deletes green in the foreground (its ReplicaSet and pods first) and waits, on a watch, until the
 * Deployment object is gone, i.e. no green pod is left to serve. Nothing else is touched. Finding
 * no green is not an error: removal is idempotent.
 */
export async function removeGreen(
  kube: Kube,
  options: { namespace: string; deployment: string; clock: Clock; timeoutMs: number; log?: (line: string) => void },
): Promise<RemovedGreen> {
  const started = options.clock.now();
  const green = await findGreen(kube, options.namespace, options.deployment);
  if (!green) return { removed: false, pods: [], durationMs: 0 };
  const pods = (await greenPods(kube, options.namespace, options.deployment)).map((p) => p.metadata?.name ?? '');
  const name = greenName(options.deployment);
  try {
    await kube.apps.deleteNamespacedDeployment({ name, namespace: options.namespace, propagationPolicy: 'Foreground' });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  await waitGone(kube, { ...options, name });
  return { removed: true, pods, durationMs: options.clock.now() - started };
}

async function waitGone(
  kube: Kube,
  o: { namespace: string; name: string; clock: Clock; timeoutMs: number; log?: (line: string) => void },
): Promise<void> {
  const deadline = o.clock.now() + o.timeoutMs;
  let done!: () => void;
  const gone = new Promise<void>((resolve) => (done = resolve));
  const watch = new ResumableWatch<k8s.V1Deployment>({
    kube,
    path: `/apis/apps/v1/namespaces/${o.namespace}/deployments`,
    query: { fieldSelector: `metadata.name=${o.name}` },
    list: async () => {
      const list = await kube.apps.listNamespacedDeployment({
        namespace: o.namespace,
        fieldSelector: `metadata.name=${o.name}`,
      });
      return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
    },
    onSnapshot: (items) => (items.length === 0 ? done() : undefined),
    onEvent: (type) => (type === 'DELETED' ? done() : undefined),
    clock: o.clock,
    deadline,
    log: o.log,
  });
  const timer = new AbortController();
  const timeout = o.clock.sleep(Math.max(0, deadline - o.clock.now()), timer.signal).then(
    () => {
      throw new Error(
        `Deployment ${o.namespace}/${o.name} was still being deleted after ${Math.round(o.timeoutMs / 1000)}s (its pods may be stuck terminating): \`kubectl get pods -n ${o.namespace} -l ${TRACK_LABEL}=green\``,
      );
    },
    () => undefined,
  );
  const running = watch.run();
  try {
    await Promise.race([gone, timeout, running.then(() => gone)]);
  } finally {
    timer.abort();
    watch.stop();
    await running.catch(() => undefined);
  }
}
