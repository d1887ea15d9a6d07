import type { RunContext, RunResult } from '@veloz/shared/action';
import { describeError } from '@veloz/shared/checks';
import { detectHelm, HelmError } from '@veloz/shared/helm/cli';
import { listReleaseRevisions } from '@veloz/shared/helm/history';
import { LockHeldError } from '@veloz/shared/kube/lock';
import { LockLostError } from '@veloz/shared/kube/fence'; // issue 13
import { newestReadyPod, podsNotRunning } from '@veloz/shared/kube/pods';
import type { RolloutResult } from '@veloz/shared/kube/rollout';
import { applyTracked } from '@veloz/shared/kube/tracked-change';
import { openSession, type KubeSession } from '@veloz/shared/kube/session';
import { deploymentCompleteText, deploymentStartedText } from '@veloz/shared/notifications';
import { formatDuration } from '@veloz/shared/parse';
import { emptyReport } from '@veloz/shared/report';
import { appendDeploymentLog } from '@veloz/shared/records/deployment-log';
import { githubDeployments, type GithubDeployments } from '@veloz/shared/records/github';
import { postNotification } from '@veloz/shared/records/webhook';
import { ROLLED_BACK_ANNOTATION, annotate } from '@veloz/shared/kube/deployment-edits';
import { autoscalerOf, scaleTracked } from '@veloz/shared/kube/scale';
import { helmUpgrade, kubectlApply } from './apply';
import type { CanarySettings } from './inputs';
import { alreadyDone, desiredFor, previousGoodRevision, readState, type ReleaseState } from './state';

/**
 * Runbook §2: phase `canary` deploys the version to canary-replicas with autoscaling off and names the
 * green pod; phase `promote` scales to full replicas with autoscaling on and proves every pod runs
 * the new image. Both hold the release lock and track the rollout on the watch API.
 */
export async function run(s: Readonly<CanarySettings>, ctx: RunContext): Promise<RunResult> {
  const started = ctx.clock.now();
  const want = desiredFor(s);
  const { namespace, release, deployment: name } = s.target;
  const report = emptyReport(
    'canary',
    s.phase === 'canary'
      ? `Canary: ${release} ${s.version} on ${want.replicas} replica(s), autoscaling off`
      : `Promote: ${release} ${s.version} to ${want.replicas} replicas, autoscaling on`,
    new Date(started),
  );
  const outputs: Record<string, string> = {};
  const warnings: string[] = [];
  const fail = (message: string, next?: string[]): RunResult => {
    report.status = 'failure';
    report.headline = message;
    report.nextSteps.push(...(next ?? []));
    report.finishedAt = new Date(ctx.clock.now()).toISOString();
    return { report, outputs, warnings, failure: message };
  };

  let session: KubeSession;
  try {
    session = await openSession(s.target, ctx, `canary ${s.phase}`, s.lockTtlMs);
  } catch (error) {
    if (error instanceof LockHeldError) return fail(`Another deploy or rollback is running: ${error.message}`);
    return fail(`Could not start: ${describeError(error)}`);
  }
  if (session.lock.tookOverFrom) {
    warnings.push(`Took over an expired release lock from ${session.lock.tookOverFrom.identity}.`);
  }

  let github: GithubDeployments | undefined;
  let deploymentId: number | undefined;
  const notify = async (text: string): Promise<void> => {
    report.notifications.push(text);
    if (!s.records.notifyWebhook) return;
    const sent = await postNotification(s.records.notifyWebhook, text, ctx.clock);
    if (!sent.ok) warnings.push(`Chat notification not delivered after ${sent.attempts} attempts: ${sent.error}.`);
  };
  const recordStatus = async (state: 'in_progress' | 'success' | 'failure', description: string): Promise<void> => {
    if (!github || deploymentId === undefined) return;
    try {
      await github.status(deploymentId, state, description);
    } catch (error) {
      warnings.push(`GitHub deployment status '${state}' not recorded: ${describeError(error)}.`);
    }
  };

  try {
    const { kube } = session;
    const before = await readState(kube, s);
    const previousRevision = await previousGoodRevision(kube, before, s);
    outputs['previous-revision'] = previousRevision;
    report.facts.push(
      { label: 'Release', value: `${release} (${s.target.driver}) in ${namespace}` },
      { label: 'Before', value: `${before.image}, ${revisionLabel(before, s)}` },
    );

    if (s.records.githubToken) {
      try {
        github = await githubDeployments(s.records.githubToken, ctx.run, s.records.environment);
        deploymentId = await github.ensure(
          { version: s.version, release, namespace, previousRevision: currentRevision(before, s) },
          `VeloZ ${s.version} (${s.phase})`,
        );
        outputs['deployment-id'] = String(deploymentId);
      } catch (error) {
        warnings.push(`GitHub deployment not recorded: ${describeError(error)}.`);
      }
    }

    const done = alreadyDone(before, s, want);
    if (done) {
      return await finishSuccess(before, done, true);
    }

    if (s.phase === 'canary') {
      await notify(
        deploymentStartedText({
          environment: s.records.environment,
          version: s.version,
          time: new Date(started),
          contact: ctx.run.actor,
        }),
      );
    }
    await recordStatus('in_progress', `${s.phase} of ${s.version} started`);

    const rollout = await ctx.log.group(`Rollout of ${name} (${s.phase})`, () => applyAndTrack(session, before));
    if (!rollout.ok) {
      const problem = rollout.problem;
      report.facts.push({ label: 'Rollout', value: rollout.status });
      if (problem?.logs.length) {
        report.sections.push({
          heading: `Last log lines of ${problem.pod}/${problem.container}`,
          lines: problem.logs.map((l) => `    ${l}`),
        });
      }
      await recordStatus('failure', rollout.message);
      await notify(
        deploymentCompleteText({
          environment: s.records.environment,
          version: s.version,
          time: new Date(ctx.clock.now()),
          status: 'FAILED',
          validation: rollout.message,
        }),
      );
      return fail(
        `${s.phase === 'canary' ? 'Canary' : 'Promotion'} of ${s.version} failed after ${formatDuration(rollout.durationMs)}: ${rollout.message}`,
        nextSteps(rollout, s, previousRevision),
      );
    }

    const after = await readState(kube, s);
    await annotate(kube, namespace, name, {
      'veloz.io/version': s.version,
      'veloz.io/run-url': ctx.run.runUrl,
      'veloz.io/actor': ctx.run.actor,
      // a new release supersedes the record of an earlier rollback
      [ROLLED_BACK_ANNOTATION]: null,
    });
    return await finishSuccess(after, `Rolled out in ${formatDuration(rollout.durationMs)}.`, false);
  } catch (error) {
    const message = error instanceof HelmError ? error.message : describeError(error);
    await recordStatus('failure', message);
    if (error instanceof LockLostError) return fail(error.message, [...error.next]); // issue 13: fenced
    return fail(`${s.phase === 'canary' ? 'Canary' : 'Promotion'} of ${s.version} failed: ${message}`, [
      `\`helm status ${release} -n ${namespace}\` and \`kubectl rollout status deployment/${name} -n ${namespace}\``,
    ]);
  } finally {
    await session.close();
  }

  async function applyAndTrack(sessionNow: KubeSession, before: ReleaseState): Promise<RolloutResult> {
    const { kube } = sessionNow;
    const result = await applyTracked(kube, {
      namespace,
      deployment: name,
      timeoutMs: s.timeoutMs,
      clock: ctx.clock,
      generationBefore: before.deployment.metadata?.generation ?? 0,
      log: (line) => ctx.log.info(line),
      warn: (line) => ctx.log.warning(line),
      apply: async (signal) => {
        if (s.target.driver !== 'helm') return kubectlApply(kube, s, want, before.container.name);
        const helm = await detectHelm();
        ctx.log.info(`helm ${helm.version}: upgrading ${release} to ${s.version}`);
        await helmUpgrade(
          helm,
          s,
          want,
          sessionNow.toolEnv,
          (line) => ctx.log.info(`helm: ${line}`),
          signal,
          before.helm?.current?.applyMethod,
        );
      },
    });
    return result.ok ? settleReplicas(kube, result) : result;
  }

  /**
   * The phase's size, whatever the chart did with it: a canary stays at canary-replicas even if an
   * autoscaler that helm was about to delete scaled it up meanwhile; a promotion reaches `replicas`
   * (within the autoscaler's bounds) even when the chart leaves replicas to the autoscaler, which
   * would otherwise only scale up at its next sync.
   */
  async function settleReplicas(kube: KubeSession['kube'], result: RolloutResult): Promise<RolloutResult> {
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
    return scaleTracked(
      kube,
      {
        namespace,
        deployment: name,
        timeoutMs: s.timeoutMs,
        clock: ctx.clock,
        log: (line) => ctx.log.info(line),
        warn: (line) => ctx.log.warning(line),
      },
      target,
    );
  }

  async function finishSuccess(state: ReleaseState, how: string, unchanged: boolean): Promise<RunResult> {
    const { kube } = session;
    const revision = currentRevision(state, s) || (await latestHelmRevision());
    outputs.revision = revision;
    outputs.image = state.image;
    report.facts.push({
      label: 'Now',
      value: `${state.image}, ${s.target.driver === 'helm' ? `Helm revision ${revision}` : `revision ${revision}`}`,
    });
    if (outputs['previous-revision'])
      report.facts.push({ label: 'Rollback target', value: `revision ${outputs['previous-revision']}` });

    if (s.phase === 'canary') {
      const pod = await newestReadyPod(kube, state.deployment);
      if (!pod) return failLate(`The rollout completed but no Ready pod of the new ReplicaSet was found.`);
      outputs['canary-pod'] = pod.metadata?.name ?? '';
      report.facts.push({ label: 'Green pod', value: outputs['canary-pod'] });
    } else {
      const check = await podsNotRunning(kube, state.deployment, state.container.name, state.image);
      if (check.wrong.length > 0) {
        return failLate(`Not every pod runs ${state.image}: ${check.wrong.join(', ')}.`);
      }
      report.facts.push({ label: 'Pods', value: `all ${check.pods} run ${state.image}` });
      if (!unchanged) {
        await notify(
          deploymentCompleteText({
            environment: s.records.environment,
            version: s.version,
            time: new Date(ctx.clock.now()),
            status: 'SUCCESS',
            validation: 'Rollout complete; every pod runs the new image',
          }),
        );
        if (s.records.deploymentLog) {
          const line = await appendDeploymentLog(
            s.records.deploymentLog,
            new Date(ctx.clock.now()),
            `Deployed v${s.version.replace(/^v/, '')} to ${s.records.environment}`,
          );
          report.facts.push({ label: 'Deployment log', value: line });
        }
      }
    }
    await recordStatus(s.phase === 'promote' ? 'success' : 'in_progress', `${s.phase} of ${s.version} complete`);
    report.status = 'success';
    report.headline = unchanged
      ? `${how} (re-run: no new revision, no new ReplicaSet).`
      : `${s.phase === 'canary' ? 'Canary' : 'Promotion'} of ${s.version} complete. ${how}`;
    report.finishedAt = new Date(ctx.clock.now()).toISOString();
    return { report, outputs, warnings };
  }

  function failLate(message: string): RunResult {
    return fail(message, [`\`kubectl get pods -n ${namespace} -o wide\``]);
  }

  async function latestHelmRevision(): Promise<string> {
    if (s.target.driver !== 'helm') return '';
    const revisions = await listReleaseRevisions(session.kube, namespace, release);
    return String(revisions[revisions.length - 1]?.revision ?? '');
  }
}

function currentRevision(state: ReleaseState, s: Readonly<CanarySettings>): string {
  return s.target.driver === 'helm' ? String(state.helm?.current?.revision ?? '') : state.deploymentRevision;
}

function revisionLabel(state: ReleaseState, s: Readonly<CanarySettings>): string {
  return s.target.driver === 'helm'
    ? `Helm revision ${state.helm?.current?.revision ?? '?'} (${state.helm?.current?.status ?? 'no release'})`
    : `revision ${state.deploymentRevision}`;
}

function nextSteps(
  rollout: Extract<RolloutResult, { ok: false }>,
  s: Readonly<CanarySettings>,
  previous: string,
): string[] {
  const { namespace, release, deployment } = s.target;
  const steps: string[] = [];
  if (rollout.problem) {
    steps.push(
      `\`kubectl logs -n ${namespace} ${rollout.problem.pod} -c ${rollout.problem.container}${rollout.problem.reason === 'CrashLoopBackOff' || rollout.problem.reason === 'OOMKilled' ? ' --previous' : ''}\``,
    );
    steps.push(`\`kubectl describe pod -n ${namespace} ${rollout.problem.pod}\``);
  }
  steps.push(
    s.target.driver === 'helm'
      ? `Roll back: the rollback job of the deploy workflow, or \`helm rollback ${release}${previous ? ` ${previous}` : ''} -n ${namespace} --wait\``
      : `Roll back: the rollback job of the deploy workflow, or \`kubectl rollout undo deployment/${deployment} -n ${namespace}${previous ? ` --to-revision=${previous}` : ''}\``,
  );
  return steps;
}
