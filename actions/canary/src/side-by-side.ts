/**
 * Runbook §2.1's diagram: green (`<deployment>-green`, the new version) beside blue (the release,
 * untouched with its autoscaler), then promotion of the release and removal of green. Blue keeps
 * serving at full size throughout; aborting means removing green.
 */
import type * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { detectHelm, runHelm, shownHelmArgs } from '@veloz/shared/helm/cli';
import {
  applyGreen,
  bluePods,
  greenName,
  greenPods,
  imageOf,
  greenSpec,
  readyCount,
  servicesSelecting,
} from '@veloz/shared/kube/green';
import { isPodReady } from '@veloz/shared/kube/pods';
import { rolloutStatus, trackRollout } from '@veloz/shared/kube/rollout';
import { Finished, StepFailure, type Step } from '@veloz/shared/pipeline';
import { formatDuration } from '@veloz/shared/parse';
import { helmTemplateArgs } from './apply';
import { beforeOf, kubeOf, recordStatus, rolloutFailure, sideBySide, type CanaryState } from './canary-state';
import { alreadyDone, tagOf } from './release-state';
import { annotateDeployment, backOutCommand, reportOutcome } from './steps';
import { reportWeights, routeAnnotation } from './traffic-route';
import type { CanaryTraffic } from '@veloz/shared/kube/green';
import type { CanarySettings } from './inputs';

/** With a router green's pods stay out of blue's Service: the route gives green its share. */
export function greenTraffic(s: Readonly<CanarySettings>): CanaryTraffic {
  return s.router ? 'none' : s.canaryTraffic;
}

const sideBySideCanary = (state: CanaryState): boolean => sideBySide(state) && state.s.phase === 'canary';

/** A re-run finds its work done: green already up at this version and size, or the release promoted. */
export const sideBySideRerun: Step<CanaryState> = {
  name: 'Check for a finished re-run',
  quiet: true,
  when: sideBySide,
  async run(state) {
    const { s, out } = state;
    const before = beforeOf(state);
    if (s.phase === 'promote') {
      const done = alreadyDone(before, s, state.want);
      state.releaseDone = done !== undefined;
      if (!done || state.greenBefore) return;
      await reportOutcome(state, before, true);
      return new Finished(`${done} (re-run: no new revision, no new ReplicaSet).`);
    }
    if (tagOf(before.image) === s.version) {
      await reportOutcome(state, before, true);
      return new Finished(`${s.target.deployment} already runs ${s.version}; no green needed, nothing changed.`);
    }
    const green = state.greenBefore;
    if (!green) return;
    if (greenMatches(state, green)) {
      await describeGreen(state);
      return new Finished(
        `Green ${green.metadata?.name} already runs ${s.canaryReplicas} × ${s.version} beside blue; nothing changed (re-run).`,
      );
    }
    out.warnings.push(
      `Replacing a green Deployment ${green.metadata?.name} left by an earlier run (${imageOf(green)}, ${green.spec?.replicas ?? 1} replica(s)).`,
    );
  },
};

function greenMatches(state: CanaryState, green: k8s.V1Deployment): boolean {
  const { s } = state;
  return (
    tagOf(imageOf(green)) === s.version &&
    (green.spec?.replicas ?? 1) === s.canaryReplicas &&
    green.metadata?.annotations?.['veloz.io/canary-traffic'] === greenTraffic(s) &&
    (!s.router || state.routeDone === true) &&
    rolloutStatus(green).state === 'complete'
  );
}

export const renderGreen: Step<CanaryState> = {
  name: (state) =>
    `Render green ${greenName(state.s.target.deployment)} from ${state.s.target.driver === 'helm' ? 'the chart (helm template)' : `${state.s.target.deployment}'s spec`}`,
  when: sideBySideCanary,
  async run(state) {
    const { s } = state;
    const source = s.target.driver === 'helm' ? await renderedDeployment(state) : copyWithImage(state);
    const labels = source.spec?.template?.metadata?.labels ?? {};
    const selectors = (await servicesSelecting(kubeOf(state), s.target.namespace, labels)).map(
      (svc) => svc.spec?.selector ?? {},
    );
    source.metadata = { ...source.metadata, namespace: s.target.namespace };
    state.greenManifest = greenSpec(source, {
      deployment: s.target.deployment,
      replicas: s.canaryReplicas,
      traffic: greenTraffic(s),
      serviceSelectors: selectors,
      annotations: routeAnnotation(state),
    });
  },
};

async function renderedDeployment(state: CanaryState): Promise<k8s.V1Deployment> {
  const { s, ctx } = state;
  const helm = await detectHelm();
  const args = helmTemplateArgs(s);
  ctx.log.info(`helm ${shownHelmArgs(args, s.helm.set).join(' ')}`);
  const result = await runHelm(helm, args, {
    env: state.session?.toolEnv ?? {},
    signal: AbortSignal.timeout(s.timeoutMs),
  });
  const docs = parseAllDocuments(result.stdout).map((d) => d.toJS() as k8s.V1Deployment | null);
  const found = docs.find((d) => d?.kind === 'Deployment' && d.metadata?.name === s.target.deployment);
  if (!found) {
    throw new StepFailure(
      `The chart ${s.helm.chart} renders no Deployment named ${s.target.deployment} (it renders: ${docs
        .filter((d) => d?.kind === 'Deployment')
        .map((d) => d?.metadata?.name)
        .join(', ')}).`,
      [`Check the \`deployment\` input, or \`helm template ${s.target.release} ${s.helm.chart}\``],
    );
  }
  return found;
}

/** Runbook §2.3's kubectl alternative: blue's own spec, with the new image in the named container. */
function copyWithImage(state: CanaryState): k8s.V1Deployment {
  const { s } = state;
  const before = beforeOf(state);
  const copy = structuredClone(before.deployment);
  const container = copy.spec?.template?.spec?.containers?.find((c) => c.name === before.container.name);
  if (container) container.image = `${s.image}:${s.version}`;
  return { metadata: { labels: copy.metadata?.labels }, spec: copy.spec };
}

export const startGreen: Step<CanaryState> = {
  name: (state) =>
    `Start green ${greenName(state.s.target.deployment)}: ${state.s.canaryReplicas} × ${state.s.version} beside blue`,
  when: sideBySideCanary,
  async run(state) {
    const { s, ctx } = state;
    const kube = kubeOf(state);
    const manifest = state.greenManifest;
    if (!manifest) throw new Error('green was not rendered');
    const how = await applyGreen(kube, manifest);
    ctx.log.info(`${how} ${manifest.metadata?.name}`);
    const rollout = await trackRollout(kube, {
      namespace: s.target.namespace,
      deployment: greenName(s.target.deployment),
      timeoutMs: s.timeoutMs,
      clock: ctx.clock,
      progress: (line) => ctx.log.info(line),
      log: (line) => ctx.log.info(line),
    });
    if (!rollout.ok) {
      throw await rolloutFailure(state, rollout, backOutCommand(state));
    }
    state.rolloutMs = rollout.durationMs;
    await annotateDeployment(state, greenName(s.target.deployment));
  },
};

export const nameGreenPod: Step<CanaryState> = {
  name: 'Name the green pod',
  when: sideBySideCanary,
  async run(state) {
    await describeGreen(state);
    await recordStatus(state, 'in_progress', `canary of ${state.s.version} complete`);
    state.headline = `Canary of ${state.s.version} complete: ${state.out.outputs.traffic}. Green started in ${formatDuration(state.rolloutMs ?? 0)}.`;
  },
};

/** Outputs and the traffic line: "blue 2 × 1.0.0 serving, green 1 × 1.1.0, ~33% of requests". */
async function describeGreen(state: CanaryState): Promise<void> {
  const { s, out } = state;
  const kube = kubeOf(state);
  const before = beforeOf(state);
  const green = (await greenPods(kube, s.target.namespace, s.target.deployment)).filter(isPodReady);
  const newest = green.sort((a, b) => created(b) - created(a))[0];
  if (!newest?.metadata?.name) {
    throw new StepFailure(`Green ${greenName(s.target.deployment)} has no Ready pod.`, [
      `\`kubectl get pods -n ${s.target.namespace} -l veloz.io/track=green -o wide\``,
    ]);
  }
  const blue = readyCount(await bluePods(kube, before.deployment));
  const share =
    s.canaryTraffic === 'share'
      ? `~${Math.round((100 * green.length) / Math.max(1, blue + green.length))}% of requests`
      : 'no production traffic (canary-traffic: none; reach it through pods/proxy)';
  await reportOutcome(state, before, true);
  out.outputs.traffic = `blue ${blue} × ${tagOf(before.image) || before.image} serving, green ${green.length} × ${s.version}, ${share}`;
  reportWeights(state);
  out.outputs.image = imageOf(state.greenManifest ?? state.greenBefore ?? {}) || `${s.image ?? ''}:${s.version}`;
  out.outputs['canary-pod'] = newest.metadata.name;
  out.fact('Green pod', newest.metadata.name);
  out.fact('Traffic', out.outputs.traffic);
}

function created(pod: k8s.V1Pod): number {
  return pod.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp).getTime() : 0;
}
