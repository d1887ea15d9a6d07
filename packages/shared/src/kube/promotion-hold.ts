/**
 * A promotion that moves each long-lived client once. A rolling update kills blue's old pods one at
 * a time, so a client moved off one lands on another old pod killed moments later. Instead:
 * blue's Deployment is paused (the controller then creates and scales no ReplicaSet), its
 * ReplicaSets are deleted with their pods orphaned and labelled `veloz.io/retiring=<old version>`
 * (they keep serving through the Service, capacity never drops), the upgrade is applied and blue
 * unpaused (the new ReplicaSet starts at full size: there is no owned old one to scale down), and
 * once it is ready the retiring pods and green go together.
 */
import type * as k8s from '@kubernetes/client-node';
import type { Clock } from '../clock';
import type { Kube } from './client';
import { isNotFound } from './errors';
import { labelSelector } from './pods';

/** On blue while it is held: the run that paused it. A rollback finding it unpauses first. */
export const HOLD_ANNOTATION = 'veloz.io/promotion-hold';
/** On a pod of blue's previous ReplicaSet that serves until the new one is ready: its version. */
export const RETIRING_LABEL = 'veloz.io/retiring';

const MERGE = (kube: Kube) => kube.lib.setHeaderOptions('Content-Type', kube.lib.PatchStrategy.MergePatch);
const FIELD_MANAGER = 'veloz-deploy-actions';

/** A label value from a version: at most 63 characters, alphanumeric at both ends. */
export function labelValue(version: string): string {
  const cleaned = version.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 63);
  return cleaned.replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '') || 'old';
}

export async function pauseDeployment(kube: Kube, namespace: string, name: string, runId: string): Promise<void> {
  await kube.apps.patchNamespacedDeployment(
    {
      name,
      namespace,
      body: { metadata: { annotations: { [HOLD_ANNOTATION]: runId } }, spec: { paused: true } },
      fieldManager: FIELD_MANAGER,
    },
    MERGE(kube),
  );
}

/** Unpauses and drops the hold annotation; `paused` is removed, not set false, so no manager owns it. */
export async function releaseHold(kube: Kube, namespace: string, name: string): Promise<void> {
  await kube.apps.patchNamespacedDeployment(
    {
      name,
      namespace,
      body: { metadata: { annotations: { [HOLD_ANNOTATION]: null } }, spec: { paused: null } },
      fieldManager: FIELD_MANAGER,
    },
    MERGE(kube),
  );
}

export function isHeld(deployment: k8s.V1Deployment | undefined): boolean {
  return deployment?.spec?.paused === true || deployment?.metadata?.annotations?.[HOLD_ANNOTATION] !== undefined;
}

/** Blue's own ReplicaSets (by controller reference: green's are another Deployment's). */
async function ownedReplicaSets(kube: Kube, d: k8s.V1Deployment): Promise<k8s.V1ReplicaSet[]> {
  const list = await kube.apps.listNamespacedReplicaSet({
    namespace: d.metadata?.namespace ?? '',
    labelSelector: labelSelector(d.spec?.selector?.matchLabels),
  });
  return list.items.filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.uid === d.metadata?.uid));
}

/**
 * Labels the pods of each of blue's ReplicaSets as retiring, then deletes the ReplicaSets with their
 * pods orphaned, and waits until they are gone (so no controller counts those pods any more).
 * Returns the retiring pods' names.
 */
export async function retireReplicaSets(
  kube: Kube,
  d: k8s.V1Deployment,
  version: string,
  o: { clock: Clock; timeoutMs: number },
): Promise<string[]> {
  const namespace = d.metadata?.namespace ?? '';
  const sets = await ownedReplicaSets(kube, d);
  const pods = await kube.core.listNamespacedPod({
    namespace,
    labelSelector: labelSelector(d.spec?.selector?.matchLabels),
  });
  const uids = new Set(sets.map((rs) => rs.metadata?.uid));
  const theirs = pods.items.filter(
    (p) => !p.metadata?.deletionTimestamp && p.metadata?.ownerReferences?.some((r) => uids.has(r.uid)),
  );
  for (const pod of theirs) {
    await kube.core.patchNamespacedPod(
      {
        name: pod.metadata?.name ?? '',
        namespace,
        body: { metadata: { labels: { [RETIRING_LABEL]: labelValue(version) } } },
        fieldManager: FIELD_MANAGER,
      },
      MERGE(kube),
    );
  }
  for (const rs of sets) {
    try {
      await kube.apps.deleteNamespacedReplicaSet({
        name: rs.metadata?.name ?? '',
        namespace,
        propagationPolicy: 'Orphan',
      });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  await until(o, 'the old ReplicaSets to be deleted', async () => (await ownedReplicaSets(kube, d)).length === 0);
  return theirs.map((p) => p.metadata?.name ?? '');
}

/** The retiring pods of a Deployment still there (terminating ones included when asked). */
export async function retiringPods(kube: Kube, d: k8s.V1Deployment, withTerminating = false): Promise<k8s.V1Pod[]> {
  const selector = [labelSelector(d.spec?.selector?.matchLabels), RETIRING_LABEL].filter(Boolean).join(',');
  const list = await kube.core.listNamespacedPod({ namespace: d.metadata?.namespace ?? '', labelSelector: selector });
  return list.items.filter((p) => withTerminating || !p.metadata?.deletionTimestamp);
}

/** Deletes the pods with the given grace period (their time to close connections; unset: the pod's own). */
export async function deletePods(kube: Kube, pods: readonly k8s.V1Pod[], graceSeconds?: number): Promise<void> {
  await Promise.all(
    pods.map(async (p) => {
      try {
        await kube.core.deleteNamespacedPod({
          name: p.metadata?.name ?? '',
          namespace: p.metadata?.namespace ?? '',
          gracePeriodSeconds: graceSeconds,
        });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    }),
  );
}

/** Bounded wait for a condition read from the API (a few reads a second). */
export async function until(
  o: { clock: Clock; timeoutMs: number },
  what: string,
  done: () => Promise<boolean>,
): Promise<void> {
  const deadline = o.clock.now() + o.timeoutMs;
  while (!(await done())) {
    if (o.clock.now() >= deadline)
      throw new Error(`gave up waiting for ${what} after ${Math.round(o.timeoutMs / 1000)}s`);
    await o.clock.sleep(250);
  }
}
