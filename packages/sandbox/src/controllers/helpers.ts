import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IReplicaSet } from 'kubernetes-models/apps/v1/ReplicaSet';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { KubeObject, OwnerReference } from '../util';
import { rfc3339 } from '../util';

export type Deployment = IDeployment & KubeObject;
export type ReplicaSet = IReplicaSet & KubeObject;
export type Pod = IPod & KubeObject;

export const asDeployment = (o: KubeObject): Deployment => o as unknown as Deployment;
export const asReplicaSet = (o: KubeObject): ReplicaSet => o as unknown as ReplicaSet;
export const asPod = (o: KubeObject): Pod => o as unknown as Pod;

export function controllerOf(o: KubeObject): OwnerReference | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller);
}

export function ownerRef(owner: KubeObject, apiVersion: string, kind: string): OwnerReference {
  return {
    apiVersion,
    kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Resolves an int-or-percent against a total, rounding like Kubernetes' GetScaledValueFromIntOrPercent. */
export function scaledValue(value: number | string | undefined, total: number, roundUp: boolean): number {
  if (value === undefined) return 0;
  if (typeof value === 'number') return value;
  const m = /^(\d+)%$/.exec(value);
  if (!m) return Number(value) || 0;
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  lastProbeTime?: string | null;
  [k: string]: unknown;
}

/**
 * Kubernetes' SetDeploymentCondition: an unchanged status+reason is left alone; a changed status
 * moves lastTransitionTime; the same status keeps it.
 */
export function setCondition(conditions: Condition[] | undefined, next: Condition, withUpdateTime = true): Condition[] {
  const list = [...(conditions ?? [])];
  const idx = list.findIndex((c) => c.type === next.type);
  const existing = idx >= 0 ? list[idx] : undefined;
  if (existing && existing.status === next.status && existing.reason === next.reason) return list;
  const now = rfc3339();
  const cond: Condition = {
    ...next,
    ...(withUpdateTime ? { lastUpdateTime: now } : {}),
    lastTransitionTime: existing && existing.status === next.status ? (existing.lastTransitionTime ?? now) : now,
  };
  if (idx >= 0) list[idx] = cond;
  else list.push(cond);
  return list;
}

export function getCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
export const POD_TEMPLATE_HASH = 'pod-template-hash';

export function revisionOf(o: KubeObject): number {
  const v = Number(o.metadata.annotations?.[REVISION] ?? 0);
  return Number.isFinite(v) ? v : 0;
}

/** Whether a pod counts as Ready (and, with minReadySeconds, available). */
export function podReadySince(pod: Pod): number | undefined {
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
  if (ready?.status !== 'True') return undefined;
  return ready.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : 0;
}

export function isPodActive(pod: Pod): boolean {
  return !pod.metadata?.deletionTimestamp && pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed';
}

export function isPodAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  const since = podReadySince(pod);
  if (since === undefined) return false;
  return minReadySeconds <= 0 || since + minReadySeconds * 1000 <= now;
}

/** Syncs each object on its own: one object's bug is logged and must not stall the others' reconciliation. */
export function syncEach(kind: string, objects: KubeObject[], sync: (o: KubeObject) => void): void {
  for (const o of objects) {
    try {
      sync(o);
    } catch (err) {
      console.error(`sandbox: ${kind} ${o.metadata.namespace}/${o.metadata.name} sync failed:`, err);
    }
  }
}
