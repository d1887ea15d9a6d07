/**
 * Runbook §2.2 steps 2 and 4 on the release itself: `helm upgrade` (or the §2.3 kubectl edit) to a
 * version, replica count and autoscaling switch, tracked on the watch API. In-place canaries and
 * every promotion run it.
 */
import { detectHelm } from '@veloz/shared/helm/cli';
import type { Kube } from '@veloz/shared/kube/client';
import { newestReadyPod } from '@veloz/shared/kube/pods';
import type { RolloutResult } from '@veloz/shared/kube/rollout';
import { autoscalerOf } from '@veloz/shared/kube/autoscaler';
import { scaleTracked } from '@veloz/shared/kube/scale';
import { applyTracked } from '@veloz/shared/kube/tracked-change';
import { StepFailure, type Step } from '@veloz/shared/pipeline';
import { helmUpgrade, kubectlApply } from './apply';
import { beforeOf, kubeOf, recordStatus, rolloutFailure, sideBySide, type CanaryState } from './canary-state';
import { readState, type Desired } from './release-state';
import { formatDuration } from '@veloz/shared/parse';
import { annotateDeployment, backOutCommand, reportOutcome } from './steps';
import { unholdBlue } from './promotion';

export const rollOutRelease: Step<CanaryState> = {
  name: (state) =>
    `Roll out ${state.s.target.deployment}: ${state.want.replicas} × ${state.s.version}, autoscaling ${state.want.autoscaling ? 'on' : 'off'}`,
  when: (state) => !sideBySide(state) || (state.s.phase === 'promote' && !state.releaseDone),
  async run(state) {
    const want = promotionSize(state);
    const rollout = await applyAndTrack(state, want);
    if (!rollout.ok) {
      throw await rolloutFailure(state, rollout, backOutCommand(state));
    }
    state.rolloutMs = rollout.durationMs;
  },
};

/** In-place canary, runbook §2.2 step 3's GREEN_POD: the newest Ready pod of the release's new ReplicaSet. */
export const nameInPlaceCanary: Step<CanaryState> = {
  name: 'Name the canary pod',
  when: (state) => !sideBySide(state) && state.s.phase === 'canary',
  async run(state) {
    const { s, out } = state;
    const after = await readState(kubeOf(state), s);
    await annotateDeployment(state, s.target.deployment);
    await reportOutcome(state, after, false);
    const pod = await newestReadyPod(kubeOf(state), after.deployment);
    if (!pod?.metadata?.name) {
      throw new StepFailure('The rollout completed but no Ready pod of the new ReplicaSet was found.', [
        `\`kubectl get pods -n ${s.target.namespace} -o wide\``,
      ]);
    }
    out.outputs['canary-pod'] = pod.metadata.name;
    out.fact('Green pod', pod.metadata.name);
    await recordStatus(state, 'in_progress', `canary of ${s.version} complete`);
    state.headline = `Canary of ${s.version} complete. Rolled out in ${formatDuration(state.rolloutMs ?? 0)}.`;
  },
};

/**
 * Side by side, blue may stand above `replicas` (its autoscaler scaled it): promotion never shrinks it,
 * so no moment has fewer pods than blue had.
 */
export function promotionSize(state: CanaryState): Desired {
  if (!sideBySide(state)) return state.want;
  const current = beforeOf(state).deployment.spec?.replicas ?? 1;
  return { ...state.want, replicas: Math.max(state.want.replicas, current) };
}

async function applyAndTrack(state: CanaryState, want: Desired): Promise<RolloutResult> {
  const { s, ctx, session } = state;
  const before = beforeOf(state);
  const kube = kubeOf(state);
  const held = state.held;
  const result = await applyTracked(kube, {
    namespace: s.target.namespace,
    deployment: s.target.deployment,
    timeoutMs: s.timeoutMs,
    clock: ctx.clock,
    // Holding blue (spec.paused) moved its generation: the rollout to track is the one after that.
    generationBefore: held?.generation ?? before.deployment.metadata?.generation ?? 0,
    log: (line) => ctx.log.info(line),
    warn: (line) => ctx.log.warning(line),
    apply: async (signal) => {
      if (s.target.driver !== 'helm') await kubectlApply(kube, s, want, before.container.name);
      else {
        const helm = await detectHelm();
        ctx.log.info(`helm ${helm.version}: upgrading ${s.target.release} to ${s.version}`);
        await helmUpgrade(
          helm,
          s,
          want,
          session?.toolEnv ?? {},
          (line) => ctx.log.info(`helm: ${line}`),
          signal,
          before.helm?.current?.applyMethod,
          !held,
        );
      }
      if (held) await unholdBlue(state, signal);
    },
  });
  return result.ok ? settleReplicas(state, kube, want, result) : result;
}

/**
 * The phase's size, whatever the chart did with it: a canary stays at canary-replicas even if an
 * autoscaler that helm was about to delete scaled it up meanwhile; a promotion reaches `replicas`
 * (within the autoscaler's bounds) even when the chart leaves replicas to the autoscaler, which
 * would otherwise only scale up at its next sync.
 */
async function settleReplicas(
  state: CanaryState,
  kube: Kube,
  want: Desired,
  result: RolloutResult,
): Promise<RolloutResult> {
  const { s, ctx } = state;
  const { namespace, deployment: name } = s.target;
  const d = await kube.apps.readNamespacedDeployment({ name, namespace });
  const hpa = await autoscalerOf(kube, namespace, name);
  const current = d.spec?.replicas ?? 1;
  let target: number;
  if (!want.autoscaling) {
    if (hpa) {
      throw new Error(
        `an autoscaler still targets ${name}; autoscaling must be off during the canary (check \`autoscaling-key\`)`,
      );
    }
    if (current === want.replicas) return result;
    target = want.replicas;
    ctx.log.warning(
      `An autoscaler scaled ${name} to ${current} during the upgrade; returning the canary to ${target}.`,
    );
  } else {
    const low = hpa?.spec?.minReplicas ?? 1;
    const high = hpa?.spec?.maxReplicas ?? Number.MAX_SAFE_INTEGER;
    target = Math.min(Math.max(want.replicas, low), high);
    if (current >= target) return result;
    ctx.log.info(
      `Scaling ${name} from ${current} to ${target} replicas (the autoscaler keeps it within ${low}–${hpa ? high : '∞'}).`,
    );
  }
  const log = (line: string): void => ctx.log.info(line);
  const warn = (line: string): void => ctx.log.warning(line);
  return scaleTracked(
    kube,
    { namespace, deployment: name, timeoutMs: s.timeoutMs, clock: ctx.clock, log, warn },
    target,
  );
}
