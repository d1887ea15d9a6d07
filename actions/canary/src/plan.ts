/**
 * `plan: true` and the promote plan at the end of every canary: what this phase would run (helm argv
 * or API writes), the revision it leads to and the object diff, computed from reads alone.
 */
import { detectHelm, runHelm, shownHelmArgs } from '@veloz/shared/helm/cli';
import { isForbidden } from '@veloz/shared/kube/errors';
import { describeError } from '@veloz/shared/checks';
import type { RunResult } from '@veloz/shared/contract';
import { findGreen, greenName, imageOf } from '@veloz/shared/kube/green';
import type { Step } from '@veloz/shared/pipeline';
import { openReadSession } from '@veloz/shared/plan/read-session';
import { diffManifests, parseManifest, type KubeManifest } from '@veloz/shared/plan/diff';
import { asManifest, suspendedHpa } from '@veloz/shared/plan/deployment-edit';
import { commandLine, planSections, type DeployPlan } from '@veloz/shared/plan/model';
import { helmUpgradeArgs, releaseArgs } from './apply';
import { beforeOf, sideBySide, type CanaryState } from './canary-state';
import { promotionSize } from './release-rollout';
import { trafficLine, weightsOf } from './traffic-route';
import { patched, readRoute, removalPatch, weightPatch } from '@veloz/shared/kube/http-route';
import { desiredFor, readState, type Desired } from './release-state';

async function planPhase(state: CanaryState): Promise<DeployPlan> {
  const { s } = state;
  if (sideBySide(state) && s.phase === 'canary') return planGreen(state);
  const want = promotionSize(state);
  const release = s.target.driver === 'helm' ? await planHelmUpgrade(state, want) : planKubectlEdit(state, want);
  const green = state.greenBefore;
  if (!sideBySide(state) || !green) return release;
  const promoted = state.routeRecord && state.route ? withRouteChange(state, release, 'promote') : release;
  return {
    ...promoted,
    commands: [...promoted.commands, `delete Deployment ${green.metadata?.name} -n ${s.target.namespace} (green)`],
    changes: [...promoted.changes, ...diffManifests([asManifest('Deployment', green)], [])],
  };
}

/** Side by side, the canary only adds green (rendered by the renderGreen step): the release is not touched. */
function planGreen(state: CanaryState): DeployPlan {
  const { s } = state;
  const green = state.greenManifest!;
  const old = state.greenBefore ? [asManifest('Deployment', state.greenBefore)] : [];
  const verb = state.greenBefore ? 'replace' : 'create';
  const plan: DeployPlan = {
    operation: 'canary',
    commands: [
      `${verb} Deployment ${green.metadata?.name} -n ${s.target.namespace}: ${s.canaryReplicas} × ${imageOf(green)} (green, beside ${s.target.deployment})`,
    ],
    target: `no new revision: green ${greenName(s.target.deployment)} is not part of the release`,
    changes: diffManifests(old, [asManifest('Deployment', green)]),
  };
  return state.routeRecord ? withRouteChange(state, plan, 'canary') : plan;
}

/**
 * The route's side of the plan: the canary adds green's Service and sets the weights, the promotion
 * removes green's backendRef and gives blue back its weights; each as its JSON patch and the diff.
 */
function withRouteChange(state: CanaryState, plan: DeployPlan, phase: 'canary' | 'promote'): DeployPlan {
  const { s } = state;
  const record = state.routeRecord!;
  const route = state.route!;
  const services = { blue: record.service, green: record.green };
  const ops =
    phase === 'canary'
      ? weightPatch(route, services, weightsOf(record.weight))
      : removalPatch(route, services, record.blueWeights);
  const what = phase === 'canary' ? trafficLine(record) : `blue only, green's backendRef removed`;
  const commands = [...plan.commands];
  if (phase === 'canary')
    commands.push(`create Service ${record.green} -n ${s.target.namespace} (green's pods only, owned by green)`);
  commands.push(
    ops.length === 0
      ? `HTTPRoute ${record.route} unchanged (already ${what})`
      : `patch HTTPRoute ${record.route} -n ${s.target.namespace} (JSON patch, ${ops.length} operations): ${what}`,
  );
  return {
    ...plan,
    commands,
    changes: [
      ...plan.changes,
      ...diffManifests([asManifest('HTTPRoute', route)], [asManifest('HTTPRoute', patched(route, ops))]),
    ],
  };
}

async function planHelmUpgrade(state: CanaryState, want: Desired): Promise<DeployPlan> {
  const { s } = state;
  const current = beforeOf(state).helm?.current;
  const helm = await detectHelm();
  const rendered = await runHelm(helm, releaseArgs('template', s, want), {
    env: state.session?.toolEnv ?? {},
    signal: AbortSignal.timeout(s.timeoutMs),
  });
  return {
    operation: s.phase,
    commands: [
      commandLine(['helm', ...shownHelmArgs(helmUpgradeArgs(s, want, helm.major, current?.applyMethod), s.helm.set)]),
    ],
    target: `helm revision ${(current?.revision ?? 0) + 1} of ${s.target.release} (now ${current ? current.revision : 'none'})`,
    changes: diffManifests(parseManifest(current?.manifest ?? ''), parseManifest(rendered.stdout)),
  };
}

/** The kubectl driver (runbook §2.3): image and replicas on the Deployment; the autoscaler set aside or restored. */
function planKubectlEdit(state: CanaryState, want: Desired): DeployPlan {
  const { s } = state;
  const before = beforeOf(state);
  const { namespace, deployment: name } = s.target;
  const image = `${s.image}:${want.version}`;
  const after = structuredClone(before.deployment);
  const container = after.spec?.template?.spec?.containers?.find((c) => c.name === before.container.name);
  if (container) container.image = image;
  if (after.spec) after.spec.replicas = want.replicas;
  const now: KubeManifest[] = [asManifest('Deployment', before.deployment)];
  const next: KubeManifest[] = [asManifest('Deployment', after)];
  const commands = [`patch Deployment ${name} -n ${namespace}: image ${image}, replicas ${want.replicas}`];
  if (before.hpa) now.push(asManifest('HorizontalPodAutoscaler', before.hpa));
  const saved = suspendedHpa(before.deployment);
  if (want.autoscaling && saved) {
    next.push(saved);
    commands.push(`create HorizontalPodAutoscaler ${saved.metadata?.name} -n ${namespace} (restored)`);
  } else if (want.autoscaling && before.hpa) next.push(asManifest('HorizontalPodAutoscaler', before.hpa));
  else if (before.hpa)
    commands.push(
      `delete HorizontalPodAutoscaler ${before.hpa.metadata?.name} -n ${namespace} (kept in an annotation)`,
    );
  return {
    operation: s.phase,
    commands,
    target: `Deployment ${name} revision ${Number(before.deploymentRevision || 0) + 1}`,
    changes: diffManifests(now, next),
  };
}

/** `plan: true`: the API clients without the release lock, and every write refused. */
export const connectForPlan: Step<CanaryState> = {
  name: 'Connect to read (plan: no lock, no writes)',
  quiet: true,
  async run(state) {
    state.session = await openReadSession(state.s.target, state.ctx);
  },
};

export const reportPlan: Step<CanaryState> = {
  name: (state) => `Plan the ${state.s.phase}`,
  quiet: true,
  async run(state) {
    const { out } = state;
    const plan = await planPhase(state);
    out.report.title = `Plan only — ${out.report.title}`;
    out.report.sections.push(...planSections(plan));
    state.headline = `Plan of the ${plan.operation}: ${plan.changes.length} object(s) would change; nothing was changed (plan: true).`;
  },
};

/**
 * What the approver of the coming promotion is about to allow, at the end of every canary summary.
 * Read-only; a failure to compute it is a warning, never a failed canary.
 */
export async function appendPromotePlan(state: CanaryState, result: RunResult): Promise<void> {
  if (!state.session) return;
  try {
    const s = { ...state.s, phase: 'promote' as const };
    const kube = state.session.kube;
    const promote: CanaryState = {
      ...state,
      s,
      want: desiredFor(s),
      before: await readState(kube, s),
      greenBefore: sideBySide(state) ? await findGreen(kube, s.target.namespace, s.target.deployment) : undefined,
      // the route as this canary left it
      route: state.routeRecord ? await readRoute(kube, s.target.namespace, state.routeRecord.route) : undefined,
    };
    result.report.sections.push(...planSections(await planPhase(promote), 'Plan of the coming promote'));
  } catch (error) {
    const why = isForbidden(error)
      ? "it needs helm's release history, which the canary stage's credential cannot read (README: Least-privilege credentials); a run with `plan: true` and the promote credential shows it"
      : describeError(error);
    result.warnings = [...(result.warnings ?? []), `The promote plan could not be computed: ${why}.`];
  }
}
