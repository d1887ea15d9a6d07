/** The steps every canary and promotion runs, whatever the strategy: lock, read, record, announce, report. */
import { describeError } from '@veloz/shared/checks';
import { listReleaseRevisions } from '@veloz/shared/helm/history';
import { ROLLED_BACK_ANNOTATION, annotate } from '@veloz/shared/kube/deployment-edits';
import { CANARY_ABORTED_ANNOTATION, findGreen, greenName } from '@veloz/shared/kube/green';
import { LockHeldError } from '@veloz/shared/kube/lock';
import { podsNotRunning } from '@veloz/shared/kube/pods';
import { openSession } from '@veloz/shared/kube/session';
import { deploymentStartedText } from '@veloz/shared/notifications';
import { formatDuration } from '@veloz/shared/parse';
import { Finished, StepFailure, type Step } from '@veloz/shared/pipeline';
import { appendDeploymentLog } from '@veloz/shared/records/deployment-log';
import { githubDeployments } from '@veloz/shared/records/github';
import { beforeOf, kubeOf, notifyComplete, recordStatus, sideBySide, type CanaryState } from './canary-state';
import type { CanarySettings } from './inputs';
import { alreadyDone, previousRevision, readState, tagOf, type ReleaseState } from './release-state';

export const takeLock: Step<CanaryState> = {
  name: (state) => `Take the release lock of ${state.s.target.release}`,
  quiet: true,
  async run(state) {
    const { s, ctx, out } = state;
    try {
      state.session = await openSession(s.target, ctx, `canary ${s.phase}`, s.lockTtlMs, false, s.lockWaitMs);
    } catch (error) {
      if (error instanceof LockHeldError)
        throw new StepFailure(`Another deploy or rollback is running: ${error.message}`);
      throw new StepFailure(`Could not start: ${describeError(error)}`);
    }
    const from = state.session.lock.tookOverFrom;
    if (from) out.warnings.push(`Took over an expired release lock from ${from.identity}.`);
  },
};

export const readRelease: Step<CanaryState> = {
  name: 'Read the release',
  quiet: true,
  async run(state) {
    const { s, out } = state;
    const kube = kubeOf(state);
    const before = await readState(kube, s, sideBySide(state) && s.phase === 'canary');
    state.before = before;
    out.outputs['previous-revision'] = before.historyHidden ? '' : await previousRevision(kube, before, s);
    out.fact('Release', `${s.target.release} (${s.target.driver}) in ${s.target.namespace}`);
    out.fact('Before', `${before.image}, ${revisionLabel(before, s)}`);
    if (before.historyHidden) {
      out.fact('Release history', "not readable with this credential (the canary stage's Role reads no Secrets)");
    }
    if (sideBySide(state)) state.greenBefore = await findGreen(kube, s.target.namespace, s.target.deployment);
  },
};

export const recordDeployment: Step<CanaryState> = {
  name: 'Record the GitHub deployment',
  quiet: true,
  when: (state) => state.s.records.githubToken !== undefined,
  async run(state) {
    const { s, ctx, out } = state;
    try {
      state.github = await githubDeployments(s.records.githubToken ?? '', ctx.workflowRun, s.records.environment);
      state.deploymentId = await state.github.ensure(
        {
          version: s.version,
          release: s.target.release,
          namespace: s.target.namespace,
          previousRevision: currentRevision(beforeOf(state), s),
        },
        `VeloZ ${s.version} (${s.phase})`,
      );
      out.outputs['deployment-id'] = String(state.deploymentId);
    } catch (error) {
      out.warnings.push(`GitHub deployment not recorded: ${describeError(error)}.`);
    }
  },
};

/** In-place re-run: the release already has this phase's shape, so the run ends here, changing nothing. */
export const inPlaceRerun: Step<CanaryState> = {
  name: 'Check for a finished re-run',
  quiet: true,
  when: (state) => !sideBySide(state),
  async run(state) {
    const done = alreadyDone(beforeOf(state), state.s, state.want);
    if (!done) return;
    await reportOutcome(state, beforeOf(state), true);
    return new Finished(`${done} (re-run: no new revision, no new ReplicaSet).`);
  },
};

export const announce: Step<CanaryState> = {
  name: (state) => `Announce the ${state.s.phase} of ${state.s.version}`,
  quiet: true,
  async run(state) {
    const { s, ctx, out } = state;
    if (s.phase === 'canary') {
      await out.notify(
        deploymentStartedText({
          environment: s.records.environment,
          version: s.version,
          time: new Date(out.started),
          contact: ctx.workflowRun.actor,
        }),
      );
    }
    await recordStatus(state, 'in_progress', `${s.phase} of ${s.version} started`);
  },
};

/** Marks the Deployment that now runs the version with who deployed it and from which run. */
export function annotateDeployment(state: CanaryState, name: string): Promise<void> {
  return annotate(kubeOf(state), state.s.target.namespace, name, {
    'veloz.io/version': state.s.version,
    'veloz.io/run-url': state.ctx.workflowRun.runUrl,
    'veloz.io/actor': state.ctx.workflowRun.actor,
    // a new release supersedes the record of an earlier rollback or abort
    [ROLLED_BACK_ANNOTATION]: null,
    ...(name === state.s.target.deployment ? { [CANARY_ABORTED_ANNOTATION]: null } : {}),
  });
}

/** Runbook §2.2 step 5: every pod of the release runs the version; then the record and the notification. */
export const checkPromotion: Step<CanaryState> = {
  name: (state) => `Check every pod runs ${state.s.version}`,
  when: (state) => state.s.phase === 'promote',
  async run(state) {
    const { s, ctx, out } = state;
    const after = await readState(kubeOf(state), s);
    const check = await podsNotRunning(kubeOf(state), after.deployment, after.container.name, after.image);
    if (check.wrong.length > 0) {
      throw new StepFailure(`Not every pod runs ${after.image}: ${check.wrong.join(', ')}.`, [
        `\`kubectl get pods -n ${s.target.namespace} -o wide\``,
      ]);
    }
    if (tagOf(after.image) !== s.version)
      throw new StepFailure(`${after.deployment.metadata?.name} runs ${after.image}, not ${s.version}.`);
    await annotateDeployment(state, s.target.deployment);
    out.fact('Pods', `all ${check.pods} run ${after.image}`);
    await reportOutcome(state, after, false);
    await notifyComplete(state, 'SUCCESS', 'Rollout complete; every pod runs the new image');
    if (s.records.deploymentLog) {
      const line = await appendDeploymentLog(
        s.records.deploymentLog,
        new Date(ctx.clock.now()),
        `Deployed v${s.version.replace(/^v/, '')} to ${s.records.environment}`,
      );
      out.fact('Deployment log', line);
    }
    await recordStatus(state, 'success', `promote of ${s.version} complete`);
    state.headline = `Promotion of ${s.version} complete.${state.rolloutMs !== undefined ? ` Rolled out in ${formatDuration(state.rolloutMs)}.` : ''}`;
  },
};

/** Outputs and facts of a finished phase: the revision now running, its image, the rollback target. */
export async function reportOutcome(state: CanaryState, release: ReleaseState, unchanged: boolean): Promise<void> {
  const { s, out } = state;
  const revision = currentRevision(release, s) || (release.historyHidden ? '' : await latestHelmRevision(state));
  out.outputs.revision = revision;
  out.outputs.image = release.image;
  const revisionText =
    s.target.driver === 'helm' ? `Helm revision ${revision || '(not read)'}` : `revision ${revision}`;
  out.fact('Now', `${release.image}, ${revisionText}`);
  const previous = out.outputs['previous-revision'];
  if (previous) out.fact('Rollback target', `revision ${previous}`);
  if (unchanged && s.phase === 'promote') await recordStatus(state, 'success', `promote of ${s.version} complete`);
}

async function latestHelmRevision(state: CanaryState): Promise<string> {
  const { s } = state;
  if (s.target.driver !== 'helm') return '';
  const revisions = await listReleaseRevisions(kubeOf(state), s.target.namespace, s.target.release);
  return String(revisions[revisions.length - 1]?.revision ?? '');
}

export function currentRevision(state: ReleaseState, settings: Readonly<CanarySettings>): string {
  return settings.target.driver === 'helm' ? String(state.helm?.current?.revision ?? '') : state.deploymentRevision;
}

function revisionLabel(state: ReleaseState, s: Readonly<CanarySettings>): string {
  if (state.historyHidden) return 'Helm revision not read';
  return s.target.driver === 'helm'
    ? `Helm revision ${state.helm?.current?.revision ?? '?'} (${state.helm?.current?.status ?? 'no release'})`
    : `revision ${state.deploymentRevision}`;
}

/** How to back out of this phase: with green still there, removing it is the whole rollback. */
export function backOutCommand(state: CanaryState): string {
  const { namespace, release, deployment } = state.s.target;
  const previous = state.out.outputs['previous-revision'];
  if (sideBySide(state) && state.s.phase === 'canary') {
    return `Abort: the rollback job of the deploy workflow (removes green only), or \`kubectl delete deployment/${greenName(deployment)} -n ${namespace}\``;
  }
  return state.s.target.driver === 'helm'
    ? `Roll back: the rollback job of the deploy workflow, or \`helm rollback ${release}${previous ? ` ${previous}` : ''} -n ${namespace} --wait\``
    : `Roll back: the rollback job of the deploy workflow, or \`kubectl rollout undo deployment/${deployment} -n ${namespace}${previous ? ` --to-revision=${previous}` : ''}\``;
}
