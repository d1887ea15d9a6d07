import type { Registry } from '../api/registry';
import { R } from '../api/resources';
import { labelSelectorFromSpec } from '../api/selectors';
import { randomSuffix, type KubeObject } from '../util';
import type { EventRecorder } from './events';
import {
  asPod,
  asReplicaSet,
  syncEach,
  controllerOf,
  isPodActive,
  isPodAvailable,
  ownerRef,
  podReadySince,
  type Pod,
  type ReplicaSet,
} from './helpers';

const SOURCE = { component: 'replicaset-controller' };

/** Creates and deletes pods to match spec.replicas, and reports replica counts in status. */
export class ReplicaSetController {
  constructor(
    private readonly reg: Registry,
    private readonly events: EventRecorder,
  ) {}

  syncAll(now: number): void {
    syncEach('replicaset', this.reg.list(R.replicasets), (o) => this.sync(asReplicaSet(o), now));
  }

  private sync(rs: ReplicaSet, now: number): void {
    const ns = rs.metadata.namespace;
    let pods = this.reg
      .list(R.pods, ns)
      .map(asPod)
      .filter((p) => controllerOf(p)?.uid === rs.metadata.uid && isPodActive(p));
    if (!rs.metadata.deletionTimestamp) {
      const want = rs.spec?.replicas ?? 1;
      const diff = pods.length - want;
      if (diff < 0) {
        for (let i = 0; i < -diff; i++) {
          const pod = this.reg.create(R.pods, ns, podFromTemplate(rs), { asController: true });
          this.events.normal(rs, 'SuccessfulCreate', `Created pod: ${pod.metadata.name}`, SOURCE);
          pods.push(asPod(pod));
        }
      } else if (diff > 0) {
        const victims = [...pods].sort(deletionRank).slice(0, diff);
        for (const p of victims) {
          this.reg.delete(R.pods, ns, p.metadata.name ?? '', {});
          this.events.normal(rs, 'SuccessfulDelete', `Deleted pod: ${p.metadata.name}`, SOURCE);
        }
        pods = pods.filter((p) => !victims.includes(p));
      }
    }
    const minReady = rs.spec?.minReadySeconds ?? 0;
    const matches = labelSelectorFromSpec(rs.spec?.selector);
    const templateLabels = rs.spec?.template?.metadata?.labels ?? {};
    const status = {
      replicas: pods.length,
      fullyLabeledReplicas: pods.filter(
        (p) =>
          matches(p.metadata.labels) && Object.entries(templateLabels).every(([k, v]) => p.metadata.labels?.[k] === v),
      ).length,
      readyReplicas: pods.filter((p) => podReadySince(p) !== undefined).length,
      availableReplicas: pods.filter((p) => isPodAvailable(p, minReady, now)).length,
      observedGeneration: rs.metadata.generation ?? 1,
    };
    this.reg.mutate(R.replicasets, ns, rs.metadata.name ?? '', (o) => {
      o.status = status;
    });
  }
}

function podFromTemplate(rs: ReplicaSet): KubeObject {
  const t = rs.spec?.template ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `${rs.metadata.name}-${randomSuffix()}`,
      generateName: `${rs.metadata.name}-`,
      namespace: rs.metadata.namespace,
      labels: { ...t.metadata?.labels },
      ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
      ownerReferences: [ownerRef(rs, 'apps/v1', 'ReplicaSet')],
    },
    spec: structuredClone(t.spec ?? {}),
  };
}

/** Which pods go first when scaling down (kubernetes' ActivePods ordering, the parts that matter here). */
function deletionRank(a: Pod, b: Pod): number {
  const assigned = (p: Pod): number => (p.spec?.nodeName ? 1 : 0);
  const phase = (p: Pod): number =>
    (({ Pending: 0, Unknown: 1, Running: 2 }) as Record<string, number>)[p.status?.phase ?? 'Pending'] ?? 0;
  const ready = (p: Pod): number => (podReadySince(p) !== undefined ? 1 : 0);
  const restarts = (p: Pod): number =>
    (p.status?.containerStatuses ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
  return (
    assigned(a) - assigned(b) ||
    phase(a) - phase(b) ||
    ready(a) - ready(b) ||
    restarts(b) - restarts(a) ||
    String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp))
  );
}
