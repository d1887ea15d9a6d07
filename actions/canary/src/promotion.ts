/**
 * Side-by-side promotion that moves each long-lived client once (see packages/shared/src/kube/
 * promotion-hold.ts): green out of rotation (the route back to blue alone, or green's pods out of
 * blue's Service), blue held, upgraded and unpaused (release-rollout.ts): its new ReplicaSet at full
 * size, then the old pods all at once; then green removed. Each client of an old pod or of green
 * reconnects once, and only new pods are in rotation to take it.
 */
import type * as k8s from '@kubernetes/client-node';
import { describeError } from '@veloz/shared/checks';
import { findGreen, greenName, greenPods, servicesSelecting } from '@veloz/shared/kube/green';
import { removalPatch, updateRoute } from '@veloz/shared/kube/http-route';
import {
  armHold,
  holdDeployment,
  openGateWhenReady,
  releaseHold,
  unpauseDeployment,
} from '@veloz/shared/kube/promotion-hold';
import { removeGreen } from '@veloz/shared/kube/green';
import { formatDuration } from '@veloz/shared/parse';
import type { Step } from '@veloz/shared/pipeline';
import { beforeOf, kubeOf, sideBySide, type CanaryState } from './canary-state';
import { backOutCommand } from './steps';

const promoting = (state: CanaryState): boolean => sideBySide(state) && state.s.phase === 'promote';

/** With a router: blue alone in every rule again, with the weights it had before the canary. */
export const switchRouteToBlue: Step<CanaryState> = {
  name: (state) => `Switch HTTPRoute ${state.routeRecord?.route}: blue only, green's backendRef removed`,
  when: (state) => promoting(state) && state.routeRecord !== undefined,
  async run(state) {
    const { s, ctx } = state;
    const kube = kubeOf(state);
    const record = state.routeRecord!;
    const services = { blue: record.service, green: record.green };
    const result = await updateRoute(kube, s.target.namespace, record.route, (route) =>
      removalPatch(route, services, record.blueWeights),
    );
    if (!result.route) ctx.log.warning(`HTTPRoute ${record.route} is gone; nothing to switch.`);
  },
};

/**
 * Without a router, green's pods share blue's Service: they leave it (one selector label off each
 * pod, its connections left open) so a client moved off an old blue pod cannot land on green.
 */
export const takeGreenOutOfService: Step<CanaryState> = {
  name: (state) => `Take green ${greenName(state.s.target.deployment)} out of blue's Service (its connections stay)`,
  when: (state) => promoting(state) && !state.routeRecord && state.greenBefore !== undefined,
  async run(state) {
    const { s } = state;
    const kube = kubeOf(state);
    const blueLabels = beforeOf(state).deployment.spec?.template?.metadata?.labels ?? {};
    const selectors = (await servicesSelecting(kube, s.target.namespace, blueLabels)).map(
      (svc) => svc.spec?.selector ?? {},
    );
    for (const pod of await greenPods(kube, s.target.namespace, s.target.deployment)) {
      const off = labelsToDrop(pod, selectors);
      if (off.length === 0) continue;
      await kube.core.patchNamespacedPod(
        {
          name: pod.metadata?.name ?? '',
          namespace: s.target.namespace,
          body: { metadata: { labels: Object.fromEntries(off.map((k) => [k, null])) } },
        },
        kube.lib.setHeaderOptions('Content-Type', kube.lib.PatchStrategy.MergePatch),
      );
    }
  },
};

/** The last key of each Service selector the pod matches (the rule greenSpec's `none` uses). */
function labelsToDrop(pod: k8s.V1Pod, selectors: readonly Record<string, string>[]): string[] {
  const labels = pod.metadata?.labels ?? {};
  const keys = selectors
    .filter((sel) => Object.keys(sel).length > 0 && Object.entries(sel).every(([k, v]) => labels[k] === v))
    .map((sel) => Object.keys(sel).at(-1)!);
  return [...new Set(keys)];
}

export const holdBlue: Step<CanaryState> = {
  name: (state) =>
    `Hold ${state.s.target.deployment}: paused, new ReplicaSet at full size before any old pod goes (maxSurge 100%, maxUnavailable 0)`,
  when: (state) => promoting(state) && !state.releaseDone,
  async run(state) {
    const { s, ctx } = state;
    const kube = kubeOf(state);
    const { namespace, deployment } = s.target;
    const live = await kube.apps.readNamespacedDeployment({ name: deployment, namespace });
    await holdDeployment(kube, live, ctx.workflowRun.runId || ctx.workflowRun.runUrl);
    state.held = { generation: 0 };
    const d = await kube.apps.readNamespacedDeployment({ name: deployment, namespace });
    state.held.generation = d.metadata?.generation ?? 0;
  },
};

/** Called by the release's rollout once the upgrade is applied: the controller may start the new ReplicaSet. */
export async function unholdBlue(state: CanaryState, signal: AbortSignal): Promise<void> {
  if (!state.held || state.held.unpaused) return;
  const { s, ctx } = state;
  const { namespace, deployment: name } = s.target;
  await armHold(kubeOf(state), namespace, name);
  await unpauseDeployment(kubeOf(state), namespace, name);
  state.held.unpaused = true;
  ctx.log.info(`Unpaused ${name}: its new ReplicaSet starts at full size; old pods stay until all of it is Ready.`);
  const opened = await openGateWhenReady(kubeOf(state), {
    namespace,
    name,
    timeoutMs: s.timeoutMs,
    clock: ctx.clock,
    signal,
  });
  if (opened) ctx.log.info(`Every new pod of ${name} is Ready: the old ReplicaSet goes in one step.`);
}

/**
 * The finally of a held promotion: whatever failed, blue is never left paused and gets its own
 * strategy back; the report says what is left and how to back out.
 */
export async function afterFailedHold(state: CanaryState): Promise<void> {
  if (!state.held) return;
  const { s, out } = state;
  const { namespace, deployment } = s.target;
  try {
    await releaseHold(kubeOf(state), namespace, deployment);
    out.fact(
      'Left',
      `${deployment} unpaused, its own rollout strategy back; its pods that still run the old version keep serving`,
    );
  } catch (error) {
    out.report.nextSteps.push(
      `Unpause by hand: \`kubectl rollout resume deployment/${deployment} -n ${namespace}\` (${describeError(error)}); the rollback action also does it first`,
    );
  }
  out.report.nextSteps.push(backOutCommand(state));
}

/** After the rollout: blue's own strategy back, then green goes (its pods given at most drain-timeout). */
export const retireGreen: Step<CanaryState> = {
  name: (state) =>
    `Remove green ${greenName(state.s.target.deployment)} (grace at most drain-timeout); ${state.s.target.deployment} gets its strategy back`,
  when: promoting,
  async run(state) {
    const { s, ctx, out } = state;
    const kube = kubeOf(state);
    const { namespace, deployment } = s.target;
    await releaseHold(kube, namespace, deployment);
    if (!(await findGreen(kube, namespace, deployment))) return;
    const grace = Math.round(s.drainTimeoutMs / 1000);
    const pods = await greenPods(kube, namespace, deployment);
    await Promise.all(
      pods.map((p) =>
        kube.core.deleteNamespacedPod({ name: p.metadata?.name ?? '', namespace, gracePeriodSeconds: grace }),
      ),
    );
    const removed = await removeGreen(kube, {
      namespace,
      deployment,
      clock: ctx.clock,
      timeoutMs: s.drainTimeoutMs + 30_000,
      log: (line) => ctx.log.info(line),
    });
    out.fact(
      'Green',
      `removed (${removed.pods.join(', ') || 'no pods'}, grace at most ${grace}s) in ${formatDuration(removed.durationMs)}`,
    );
  },
};
