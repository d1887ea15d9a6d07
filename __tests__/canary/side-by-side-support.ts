import type { Sandbox } from '@veloz/sandbox';

type Pod = {
  metadata: { name?: string; namespace?: string; labels?: Record<string, string>; deletionTimestamp?: string };
  status?: { conditions?: { type: string; status: string }[] };
};

const isBlue = (p: Pod): boolean =>
  p.metadata.namespace === 'veloz' &&
  p.metadata.labels?.['app.kubernetes.io/name'] === 'veloz' &&
  p.metadata.labels?.['veloz.io/track'] === undefined;
const isReady = (p: Pod): boolean =>
  !p.metadata.deletionTimestamp &&
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

export interface BlueReadyWatch {
  /** The fewest Ready blue pods seen after any pod event. */
  readonly minReady: number;
  /** Pod events seen (blue's and green's: each is a moment blue's readiness is sampled). */
  readonly samples: number;
  stop(): void;
}

/**
 * Ready blue pods sampled on every pod event of the store's watch stream (what API watches are
 * served from), so a dip between two polls cannot be missed.
 */
export function blueReadyWatch(sandbox: Sandbox): BlueReadyWatch {
  const ready = new Map<string, boolean>();
  for (const p of sandbox.list('pods', 'veloz') as unknown as Pod[]) {
    if (isBlue(p)) ready.set(p.metadata.name ?? '', isReady(p));
  }
  const count = (): number => [...ready.values()].filter(Boolean).length;
  const state = { minReady: count(), samples: 0 };
  const unsubscribe = sandbox.registry.store.subscribe((event) => {
    if (event.resource !== 'pods' && !event.resource.endsWith('/pods')) return;
    const pod = event.object as unknown as Pod;
    if (pod.metadata.namespace !== 'veloz') return;
    if (isBlue(pod) && event.type === 'DELETED') ready.delete(pod.metadata.name ?? '');
    else if (isBlue(pod)) ready.set(pod.metadata.name ?? '', isReady(pod));
    state.samples++;
    state.minReady = Math.min(state.minReady, count());
  });
  return {
    get minReady() {
      return state.minReady;
    },
    get samples() {
      return state.samples;
    },
    stop: unsubscribe,
  };
}

/** Names of the pods in the Service's Ready addresses. */
export function endpointPods(sandbox: Sandbox, service = 'veloz-engine'): string[] {
  const ep = sandbox.get('endpoints', 'veloz', service) as unknown as {
    subsets?: { addresses?: { targetRef?: { name?: string } }[] }[];
  };
  return (ep?.subsets ?? [])
    .flatMap((s) => s.addresses ?? [])
    .map((a) => a.targetRef?.name ?? '')
    .sort();
}
