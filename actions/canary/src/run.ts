import type { RunContext, RunResult } from '@veloz/shared/contract';
import { describeError } from '@veloz/shared/checks';
import { HelmError } from '@veloz/shared/helm/cli';
import { greenName } from '@veloz/shared/kube/green';
import { ActionRun, runSteps, type Step } from '@veloz/shared/pipeline';
import { recordStatus, type CanaryState } from './canary-state';
import type { CanarySettings } from './inputs';
import { nameInPlaceCanary, rollOutRelease } from './release-rollout';
import { nameGreenPod, renderGreen, sideBySideRerun, startGreen } from './side-by-side';
import { afterFailedHold, holdBlue, retireGreen, switchRouteToBlue, takeGreenOutOfService } from './promotion';
import { readTrafficRoute, setRouteWeights, startGreenService } from './traffic-route';
import { appendPromotePlan, connectForPlan, reportPlan } from './plan';
import { desiredFor } from './release-state';
import { announce, checkPromotion, inPlaceRerun, readRelease, recordDeployment, takeLock } from './steps';

/**
 * Runbook §2, as its steps. Side by side (the default, §2.1's diagram): phase `canary` starts green
 * beside the untouched release; phase `promote` upgrades the release to full size with autoscaling
 * on, then removes green. In place (§2.2's literal commands): the release itself goes to
 * canary-replicas with autoscaling off, then to full size. Every step holds the release lock and
 * every rollout is tracked on the watch API.
 */
const STEPS: readonly Step<CanaryState>[] = [
  takeLock,
  readRelease,
  readTrafficRoute,
  recordDeployment,
  inPlaceRerun,
  sideBySideRerun,
  announce,
  // canary
  renderGreen,
  startGreen,
  startGreenService,
  setRouteWeights,
  nameGreenPod,
  // side-by-side promotion: green out of rotation, blue held so its old pods go only all at once
  switchRouteToBlue,
  takeGreenOutOfService,
  holdBlue,
  // in-place canary; every promotion
  rollOutRelease,
  nameInPlaceCanary,
  // side-by-side promotion: green goes once the old pods have
  retireGreen,
  checkPromotion,
];

/** `plan: true`: read the release, render what the phase would apply, report it; no lock, no write. */
const PLAN_STEPS: readonly Step<CanaryState>[] = [
  connectForPlan,
  readRelease,
  readTrafficRoute,
  renderGreen,
  reportPlan,
];

export async function run(settings: Readonly<CanarySettings>, ctx: RunContext): Promise<RunResult> {
  const want = desiredFor(settings);
  const action = new ActionRun(
    'canary',
    title(settings, want.replicas),
    ctx,
    settings.records.notifyWebhook,
    settings.records.notifyRoutes,
  );
  const state: CanaryState = { s: settings, ctx, out: action, want };
  try {
    const result = await runSteps(action, settings.plan ? PLAN_STEPS : STEPS, state, {
      // Fencing: a run that lost the release lock (a rollback took it over) stops before its next step.
      beforeStep: (next) => state.session?.fence(next),
      explain: (error) => ({
        message: `${settings.phase === 'canary' ? 'Canary' : 'Promotion'} of ${settings.version} failed: ${error instanceof HelmError ? error.message : describeError(error)}`,
        next: [
          `\`helm status ${settings.target.release} -n ${settings.target.namespace}\` and \`kubectl rollout status deployment/${settings.target.deployment} -n ${settings.target.namespace}\``,
        ],
      }),
      onFailure: async (message) => {
        await afterFailedHold(state);
        await recordStatus(state, 'failure', message);
      },
    });
    if (settings.phase === 'canary' && !settings.plan && !result.failure) await appendPromotePlan(state, result);
    return result;
  } finally {
    await state.session?.close();
  }
}

function title(s: Readonly<CanarySettings>, replicas: number): string {
  const { release, deployment } = s.target;
  if (s.phase === 'promote') return `Promote: ${release} ${s.version} to ${replicas} replicas, autoscaling on`;
  return s.strategy === 'side-by-side'
    ? `Canary: ${greenName(deployment)} ${s.version} on ${replicas} replica(s) beside ${release} (traffic: ${s.router ? `${s.router.weight}% through HTTPRoute ${s.router.httpRoute}` : s.canaryTraffic})`
    : `Canary: ${release} ${s.version} on ${replicas} replica(s), autoscaling off`;
}
