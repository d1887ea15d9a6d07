/**
 * A rollback after a promotion that was stopped while it held blue (canary's promotion pauses the
 * release's Deployment and sets maxSurge 100% / maxUnavailable 0, see
 * packages/shared/src/kube/promotion-hold.ts). A paused Deployment rolls nothing out, and helm 3's
 * --wait calls it ready at once: so before the rollback blue is unpaused and gets its own strategy
 * back. Its pods were never orphaned, so nothing else is left to clean up.
 */
import type { RunContext } from '@veloz/shared/contract';
import type { ActionRun } from '@veloz/shared/pipeline';
import { HOLD_ANNOTATION, isHeld, releaseHold } from '@veloz/shared/kube/promotion-hold';
import type { Kube } from '@veloz/shared/kube/client';
import type { KubeSession } from '@veloz/shared/kube/session';
import { unlessNotFound } from '@veloz/shared/kube/errors';
import type { RollbackSettings } from './inputs';

interface HeldContext {
  s: Readonly<RollbackSettings>;
  ctx: RunContext;
  run: ActionRun;
  session: KubeSession;
}

/** `reads`: the clients of the reads made beside the lock claim, so blue is not read a second time. */
export async function releaseHeldPromotion(r: HeldContext, reads: Kube): Promise<void> {
  const { namespace, deployment: name } = r.s.target;
  const blue = await unlessNotFound(reads.apps.readNamespacedDeployment({ name, namespace }));
  if (!isHeld(blue)) return;
  const by = blue?.metadata?.annotations?.[HOLD_ANNOTATION] ?? 'an earlier run';
  await releaseHold(r.session.kube, namespace, name);
  r.run.fact('Held', `${name} was held by promotion ${by}; unpaused, its own strategy back, before rolling back`);
}
