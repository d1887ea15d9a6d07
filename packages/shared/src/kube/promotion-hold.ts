/**
 * A promotion that moves each long-lived client once. A rolling update kills blue's old pods one at
 * a time, so a client moved off one lands on another old pod killed moments later. Instead blue is
 * held: paused (while the upgrade is applied the controller rolls nothing out) with its rolling
 * update set to maxSurge 100% / maxUnavailable 0 (its original strategy kept in an annotation);
 * unpaused, the controller starts the new ReplicaSet at full size at once. Kubernetes then scales
 * the old ReplicaSet down one pod per new pod that becomes *available*, so new pods Ready at different
 * moments would free old pods one at a time again. So the hold also sets a `minReadySeconds` gate:
 * new pods become Ready (and serve) but none counts as available, so no old pod goes; once every new
 * pod is Ready the gate opens (`minReadySeconds: 0`), every new pod is available at once, and the
 * controller scales the old ReplicaSet to 0 in one step. Every old pod goes at the same moment, when
 * only new pods are left to take its clients. The chart's own minReadySeconds comes back with the
 * strategy.
 *
 * Why not delete the old ReplicaSet with its pods orphaned (and delete them ourselves later): a
 * paused Deployment with no active ReplicaSet has the Kubernetes controller scale its newest
 * *history* ReplicaSet up to full size (deployment_util.go FindActiveOrLatest, called from sync's
 * scale() while paused), i.e. pods of an older version; and the deleted ReplicaSet is the revision
 * `kubectl rollout undo` needs to roll the promotion back.
 */
import type * as k8s from '@kubernetes/client-node';
import type { Clock } from '../clock';
import type { Kube } from './client';
import { REVISION_ANNOTATION } from './pods';

/** On blue while it is held: the run that paused it. A rollback finding it unpauses first. */
export const HOLD_ANNOTATION = 'veloz.io/promotion-hold';
/** On blue while it is held: its own strategy (JSON), given back when the rollout is over. */
export const HELD_STRATEGY_ANNOTATION = 'veloz.io/promotion-strategy';
/** On blue while it is held: its own minReadySeconds (absent: none), given back with the strategy. */
export const HELD_MIN_READY_ANNOTATION = 'veloz.io/promotion-min-ready';
/** While the gate is shut no new pod counts as available, whatever the rollout's length (a day). */
const GATE_SECONDS = 86_400;
/** How often the gate looks whether every new pod is Ready. */
const GATE_POLL_MS = 200;

const FIELD_MANAGER = 'veloz-deploy-actions';
/** The whole new ReplicaSet at once, no old pod before all of it is available. */
const SURGE_ALL = { type: 'RollingUpdate', rollingUpdate: { maxSurge: '100%', maxUnavailable: 0 } };

async function mergePatch(kube: Kube, namespace: string, name: string, body: object): Promise<void> {
  await kube.apps.patchNamespacedDeployment(
    { name, namespace, body, fieldManager: FIELD_MANAGER },
    kube.lib.setHeaderOptions('Content-Type', kube.lib.PatchStrategy.MergePatch),
  );
}

/** Pauses blue: while the upgrade is applied, the controller rolls nothing out. */
export async function holdDeployment(kube: Kube, d: k8s.V1Deployment, runId: string): Promise<void> {
  await mergePatch(kube, d.metadata?.namespace ?? '', d.metadata?.name ?? '', {
    metadata: { annotations: { [HOLD_ANNOTATION]: runId } },
    spec: { paused: true },
  });
}

/**
 * After the upgrade is applied, before unpausing: the surge-all strategy and the availability gate,
 * remembering what the upgrade left (the chart's own values: helm resets fields its chart sets, so
 * they are set here, not before the upgrade). A re-run finding its own values keeps the first record.
 * A Recreate strategy is left alone: the chart asked for every old pod to go first.
 */
export async function armHold(kube: Kube, namespace: string, name: string): Promise<void> {
  const d = await kube.apps.readNamespacedDeployment({ name, namespace });
  if (d.spec?.strategy?.type === 'Recreate') return;
  const annotations = d.metadata?.annotations ?? {};
  const ours = d.spec?.minReadySeconds === GATE_SECONDS;
  const strategy = (ours && annotations[HELD_STRATEGY_ANNOTATION]) || JSON.stringify(d.spec?.strategy ?? {});
  const minReady = (ours && annotations[HELD_MIN_READY_ANNOTATION]) || String(d.spec?.minReadySeconds ?? '');
  await mergePatch(kube, namespace, name, {
    metadata: { annotations: { [HELD_STRATEGY_ANNOTATION]: strategy, [HELD_MIN_READY_ANNOTATION]: minReady } },
    // A merge patch replaces rollingUpdate's two fields; `null`s drop what SURGE_ALL does not set.
    spec: { strategy: SURGE_ALL, minReadySeconds: GATE_SECONDS },
  });
}

/** Unpauses; `paused` is removed, not set false, so no field manager owns it afterwards. */
export async function unpauseDeployment(kube: Kube, namespace: string, name: string): Promise<void> {
  await mergePatch(kube, namespace, name, { spec: { paused: null } });
}

/** Gives blue back its own strategy and drops the hold's annotations; unpauses if still paused. */
export async function releaseHold(kube: Kube, namespace: string, name: string): Promise<boolean> {
  const d = await kube.apps.readNamespacedDeployment({ name, namespace });
  if (!isHeld(d)) return false;
  const saved = d.metadata?.annotations?.[HELD_STRATEGY_ANNOTATION];
  const strategy = saved ? (JSON.parse(saved) as k8s.V1DeploymentStrategy) : undefined;
  const minReady = d.metadata?.annotations?.[HELD_MIN_READY_ANNOTATION];
  await mergePatch(kube, namespace, name, {
    metadata: {
      annotations: { [HOLD_ANNOTATION]: null, [HELD_STRATEGY_ANNOTATION]: null, [HELD_MIN_READY_ANNOTATION]: null },
    },
    spec: {
      paused: null,
      ...(minReady !== undefined ? { minReadySeconds: minReady === '' ? null : Number(minReady) } : {}),
      // null where the original had nothing, so the API server's defaults apply again
      ...(strategy
        ? {
            strategy: {
              type: strategy.type ?? null,
              rollingUpdate: strategy.rollingUpdate
                ? {
                    maxSurge: strategy.rollingUpdate.maxSurge ?? null,
                    maxUnavailable: strategy.rollingUpdate.maxUnavailable ?? null,
                  }
                : null,
            },
          }
        : {}),
    },
  });
  return true;
}

export function isHeld(deployment: k8s.V1Deployment | undefined): boolean {
  const annotations = deployment?.metadata?.annotations ?? {};
  return annotations[HOLD_ANNOTATION] !== undefined || annotations[HELD_STRATEGY_ANNOTATION] !== undefined;
}

/**
 * Opens the availability gate once every pod of the new ReplicaSet is Ready (bounded by `timeoutMs`
 * and `signal`; a rollout that fails is the tracker's to report): from then on the old ReplicaSet
 * goes in one step. Without a gate (a Recreate strategy) there is nothing to wait for.
 */
export async function openGateWhenReady(
  kube: Kube,
  o: { namespace: string; name: string; timeoutMs: number; clock: Clock; signal: AbortSignal },
): Promise<boolean> {
  const deadline = o.clock.now() + o.timeoutMs;
  while (!o.signal.aborted && o.clock.now() < deadline) {
    const d = await kube.apps.readNamespacedDeployment({ name: o.name, namespace: o.namespace });
    if (d.spec?.minReadySeconds !== GATE_SECONDS) return false;
    const fresh = await newReplicaSet(kube, d);
    const want = d.spec?.replicas ?? 1;
    if (fresh && (fresh.spec?.replicas ?? 0) >= want && (fresh.status?.readyReplicas ?? 0) >= want) {
      await mergePatch(kube, o.namespace, o.name, { spec: { minReadySeconds: 0 } });
      return true;
    }
    await o.clock.sleep(GATE_POLL_MS);
  }
  return false;
}

/** The Deployment's ReplicaSet at its current revision (the one the rollout is bringing up). */
async function newReplicaSet(kube: Kube, d: k8s.V1Deployment): Promise<k8s.V1ReplicaSet | undefined> {
  const revision = d.metadata?.annotations?.[REVISION_ANNOTATION];
  const uid = d.metadata?.uid;
  const list = await kube.apps.listNamespacedReplicaSet({ namespace: d.metadata?.namespace ?? '' });
  return list.items.find(
    (rs) =>
      rs.metadata?.ownerReferences?.some((o) => o.uid === uid) &&
      rs.metadata?.annotations?.[REVISION_ANNOTATION] === revision,
  );
}
