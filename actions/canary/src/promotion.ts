/**
 * Side-by-side promotion that moves each long-lived client once (see packages/shared/src/kube/
 * promotion-hold.ts): hold blue, upgrade and unpause (release-rollout.ts), switch the route to blue
 * alone, then retire green and blue's old pods together. Until the retire step no client is
 * disconnected; there, each client of a retiring pod reconnects once, to a pod of the new
 * ReplicaSet, which is the only thing left to take it.
 */
import { describeError } from '@veloz/shared/checks';
import { findGreen, greenName, greenPods } from '@veloz/shared/kube/green';
import { patchRoute, readRoute, removalPatch } from '@veloz/shared/kube/http-route';
import {
  RETIRING_LABEL,
  deletePods,
  labelValue,
  pauseDeployment,
  releaseHold,
  retireReplicaSets,
  retiringPods,
  until,
} from '@veloz/shared/kube/promotion-hold';
import { isNotFound } from '@veloz/shared/kube/errors';
import { formatDuration } from '@veloz/shared/parse';
import type { Step } from '@veloz/shared/pipeline';
import { beforeOf, kubeOf, sideBySide, type CanaryState } from './canary-state';
import { tagOf } from './release-state';
import { backOutCommand } from './steps';

const promoting = (state: CanaryState): boolean => sideBySide(state) && state.s.phase === 'promote';

export const holdBlue: Step<CanaryState> = {
  name: (state) =>
    `Hold ${state.s.target.deployment}: pause it; its pods keep serving as ${RETIRING_LABEL}=${labelValue(oldVersion(state))}`,
  when: (state) => promoting(state) && !state.releaseDone,
  async run(state) {
    const { s, ctx, out } = state;
    const kube = kubeOf(state);
    const { namespace, deployment } = s.target;
    const version = oldVersion(state);
    await pauseDeployment(kube, namespace, deployment, ctx.workflowRun.runId || ctx.workflowRun.runUrl);
    state.held = { retiring: [], oldVersion: version, generation: 0 };
    state.held.retiring = await retireReplicaSets(kube, beforeOf(state).deployment, version, {
      clock: ctx.clock,
      timeoutMs: s.timeoutMs,
    });
    const d = await kube.apps.readNamespacedDeployment({ name: deployment, namespace });
    state.held.generation = d.metadata?.generation ?? 0;
    out.note(`${state.held.retiring.length} pod(s) retiring: ${state.held.retiring.join(', ')}`);
  },
};

function oldVersion(state: CanaryState): string {
  const image = beforeOf(state).image;
  return tagOf(image) || image;
}

/** Called by the release's rollout once the upgrade is applied: the controller may start the new ReplicaSet. */
export async function unholdBlue(state: CanaryState): Promise<void> {
  if (!state.held || state.held.released) return;
  await releaseHold(kubeOf(state), state.s.target.namespace, state.s.target.deployment);
  state.held.released = true;
  state.ctx.log.info(`Unpaused ${state.s.target.deployment}: its new ReplicaSet starts at full size.`);
}

/**
 * The finally of a held promotion: whatever failed, blue is never left paused; the report says what
 * is left (the retiring pods still serve the old version) and how to back out.
 */
export async function afterFailedHold(state: CanaryState): Promise<void> {
  const held = state.held;
  if (!held) return;
  const { s, out } = state;
  if (!held.released) {
    try {
      await unholdBlue(state);
    } catch (error) {
      out.report.nextSteps.push(
        `Unpause by hand: \`kubectl rollout resume deployment/${s.target.deployment} -n ${s.target.namespace}\` (${describeError(error)})`,
      );
    }
  }
  const left = `${held.retiring.length} pod(s) labelled ${RETIRING_LABEL}=${labelValue(held.oldVersion)} (${held.retiring.join(', ') || 'none'}) still serve ${held.oldVersion}; ${s.target.deployment} is unpaused`;
  out.fact('Left', left);
  out.report.nextSteps.push(
    backOutCommand(state),
    `After the rollback, the rollback action removes the retiring pods once the restored ReplicaSet is ready; by hand: \`kubectl delete pods -n ${s.target.namespace} -l ${RETIRING_LABEL}\``,
  );
}

/** With a router: blue alone in every rule again, with the weights it had before the canary. */
export const switchRouteToBlue: Step<CanaryState> = {
  name: (state) => `Switch HTTPRoute ${state.routeRecord?.route}: blue only, green's backendRef removed`,
  when: (state) => promoting(state) && state.routeRecord !== undefined,
  async run(state) {
    const { s, ctx } = state;
    const kube = kubeOf(state);
    const record = state.routeRecord!;
    const route = await readRoute(kube, s.target.namespace, record.route);
    if (!route) return ctx.log.warning(`HTTPRoute ${record.route} is gone; nothing to switch.`);
    const ops = removalPatch(route, { blue: record.service, green: record.green }, record.blueWeights);
    if (ops.length > 0) await patchRoute(kube, route, ops);
  },
};

/**
 * Retire at once: green and every retiring pod deleted together, each given at most drain-timeout
 * to close its connections, and waited for (bounded). Their clients reconnect once, to new pods.
 */
export const retireTogether: Step<CanaryState> = {
  name: (state) =>
    `Retire green ${greenName(state.s.target.deployment)} and ${state.s.target.deployment}'s old pods together`,
  when: promoting,
  async run(state) {
    const { s, ctx, out } = state;
    const kube = kubeOf(state);
    const { namespace, deployment } = s.target;
    const t0 = ctx.clock.now();
    const blue = await kube.apps.readNamespacedDeployment({ name: deployment, namespace });
    const green = await findGreen(kube, namespace, deployment);
    const pods = [...(await retiringPods(kube, blue)), ...(green ? await greenPods(kube, namespace, deployment) : [])];
    if (!green && pods.length === 0) return;
    const grace = Math.round(s.drainTimeoutMs / 1000);
    if (green) await deleteGreen(kube, namespace, deployment);
    await deletePods(kube, pods, grace);
    const names = new Set(pods.map((p) => p.metadata?.name));
    await until(
      { clock: ctx.clock, timeoutMs: s.drainTimeoutMs + 30_000 },
      'the retiring pods and green to be gone',
      async () => {
        const left = await kube.core.listNamespacedPod({ namespace });
        const stillGreen = await findGreen(kube, namespace, deployment);
        return !stillGreen && !left.items.some((p) => names.has(p.metadata?.name));
      },
    );
    out.fact(
      'Retired',
      `${pods.map((p) => p.metadata?.name).join(', ') || 'no pods'} in ${formatDuration(ctx.clock.now() - t0)} (grace at most ${grace}s)`,
    );
  },
};

async function deleteGreen(kube: ReturnType<typeof kubeOf>, namespace: string, deployment: string): Promise<void> {
  try {
    await kube.apps.deleteNamespacedDeployment({
      name: greenName(deployment),
      namespace,
      propagationPolicy: 'Foreground',
    });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
