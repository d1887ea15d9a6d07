/**
 * A rollback after a promotion that held blue (canary's promotion pauses the release's Deployment
 * and keeps its old pods serving as `veloz.io/retiring`): a paused Deployment rolls nothing out,
 * so it is unpaused before the rollback; once the restored ReplicaSet is ready, the retiring pods
 * left over are removed. In Kubernetes a restored ReplicaSet with the retiring pods' own
 * pod-template-hash adopts them (its selector matches, they have no owner): those only lose the
 * label. Pods nobody adopted (another version, or a cluster whose controller does not adopt,
 * like the sandbox) are deleted: the restored ReplicaSet is ready without them.
 */
import type * as k8s from '@kubernetes/client-node';
import type { RunContext } from '@veloz/shared/contract';
import type { ActionRun } from '@veloz/shared/pipeline';
import {
  HOLD_ANNOTATION,
  RETIRING_LABEL,
  deletePods,
  isHeld,
  releaseHold,
  retiringPods,
} from '@veloz/shared/kube/promotion-hold';
import type { KubeSession } from '@veloz/shared/kube/session';
import { unlessNotFound } from '@veloz/shared/kube/errors';
import type { RollbackSettings } from './inputs';

interface HeldContext {
  s: Readonly<RollbackSettings>;
  ctx: RunContext;
  run: ActionRun;
  session: KubeSession;
}

function readBlue(r: HeldContext): Promise<k8s.V1Deployment | undefined> {
  const { namespace, deployment: name } = r.s.target;
  return unlessNotFound(r.session.kube.apps.readNamespacedDeployment({ name, namespace }));
}

/** Whether the release's Deployment is held by a promotion (paused with the hold annotation). */
export async function heldBy(r: HeldContext): Promise<string | undefined> {
  const blue = await readBlue(r);
  if (!isHeld(blue)) return undefined;
  return blue?.metadata?.annotations?.[HOLD_ANNOTATION] ?? 'a paused Deployment';
}

/** Before the rollback: unpause, so the restore rolls out (helm 3 --wait would call a paused Deployment ready). */
export async function releaseHeldPromotion(r: HeldContext): Promise<void> {
  const by = await heldBy(r);
  if (!by) return;
  await releaseHold(r.session.kube, r.s.target.namespace, r.s.target.deployment);
  r.run.fact('Held', `${r.s.target.deployment} was paused by promotion ${by}; unpaused before rolling back`);
}

/** After the rollback (its rollout is complete): the retiring pods nobody adopted go, adopted ones lose the label. */
export async function removeRetiringPods(r: HeldContext): Promise<void> {
  const blue = await readBlue(r);
  if (!blue) return;
  const pods = await retiringPods(r.session.kube, blue);
  if (pods.length === 0) return;
  const adopted = pods.filter((p) => p.metadata?.ownerReferences?.some((o) => o.controller));
  const orphans = pods.filter((p) => !adopted.includes(p));
  for (const pod of adopted) {
    await r.session.kube.core.patchNamespacedPod(
      {
        name: pod.metadata?.name ?? '',
        namespace: r.s.target.namespace,
        body: { metadata: { labels: { [RETIRING_LABEL]: null } } },
      },
      r.session.kube.lib.setHeaderOptions('Content-Type', r.session.kube.lib.PatchStrategy.MergePatch),
    );
  }
  await deletePods(r.session.kube, orphans);
  const names = (list: k8s.V1Pod[]) => list.map((p) => p.metadata?.name).join(', ') || 'none';
  r.run.fact('Retiring pods', `removed ${names(orphans)}; adopted by the restored ReplicaSet: ${names(adopted)}`);
}
