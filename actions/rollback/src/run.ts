import type { RunContext, RunResult } from '@veloz/shared/action';
import { describeError, runChecks } from '@veloz/shared/checks';
import { healthCheck } from '@veloz/shared/endpoint-checks/health';
import { detectHelm, forceConflicts, goDuration, runHelm, HelmError } from '@veloz/shared/helm/cli';
import { markRevisionFailed, PENDING_STATUSES } from '@veloz/shared/helm/history';
import { urlEndpoint, type HttpEndpoint } from '@veloz/shared/http/endpoint';
import {
  PRE_CANARY_REPLICAS_ANNOTATION,
  ROLLED_BACK_ANNOTATION,
  SUSPENDED_HPA_ANNOTATION,
  annotate,
  mutateDeployment,
  restoreHpa,
} from '@veloz/shared/kube/deployment-edits';
import { LockHeldError } from '@veloz/shared/kube/lock';
import { isPodReady, labelSelector } from '@veloz/shared/kube/pods';
import { proxyEndpoint } from '@veloz/shared/kube/proxy';
import { autoscalerOf, scaleTracked } from '@veloz/shared/kube/scale';
import { openSession, type KubeSession } from '@veloz/shared/kube/session';
import { applyTracked } from '@veloz/shared/kube/tracked-change';
import { readOnlyQuery } from '@veloz/shared/pg-readonly'; // issue 13
import { LockLostError } from '@veloz/shared/kube/fence'; // issue 13
import { rollbackInitiatedText } from '@veloz/shared/notifications';
import { formatDuration } from '@veloz/shared/parse';
import { appendDeploymentLog } from '@veloz/shared/records/deployment-log';
import { githubDeployments } from '@veloz/shared/records/github';
import { postNotification } from '@veloz/shared/records/webhook';
import { emptyReport, type Step } from '@veloz/shared/report';
import { runRestoreCommands, scaleToZero } from './database';
import type { RollbackSettings } from './inputs';
import { NothingToRollBackToError, UnknownRevisionError, planRollback, type Plan, type RevisionInfo } from './plan';

interface RollbackRecord {
  from: RevisionInfo;
  to: RevisionInfo;
  run: string;
  at: string;
}

/**
 * Runbook §4.2–4.5: roll the release back (recovering a stuck one first), optionally restore the
 * database to a point in time with the engine stopped, verify, record and notify. Every step is
 * timed and reported; a failing step stops the sequence and says exactly where it left things.
 */
export async function run(s: Readonly<RollbackSettings>, ctx: RunContext): Promise<RunResult> {
  const started = ctx.clock.now();
  const { namespace, release, deployment: name } = s.target;
  const report = emptyReport('rollback', `Rollback: ${release} in ${namespace}`, new Date(started));
  const steps: Step[] = report.steps;
  const outputs: Record<string, string> = {};
  const warnings: string[] = [];
  report.facts.push({ label: 'Reason', value: s.reason });

  const finish = (failure?: string, next: string[] = []): RunResult => {
    report.finishedAt = new Date(ctx.clock.now()).toISOString();
    report.status = failure ? 'failure' : 'success';
    if (failure) report.headline = failure;
    report.nextSteps.push(...next);
    outputs['duration-seconds'] = String(Math.round((ctx.clock.now() - started) / 100) / 10);
    return { report, outputs, warnings, failure };
  };
  const step = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
    const t0 = ctx.clock.now();
    try {
      const value = await ctx.log.group(label, fn);
      steps.push({ name: label, status: 'done', durationMs: ctx.clock.now() - t0 });
      return value;
    } catch (error) {
      steps.push({ name: label, status: 'failed', durationMs: ctx.clock.now() - t0, detail: describeError(error) });
      throw error;
    }
  };

  let session: KubeSession;
  try {
    session = await openSession(s.target, ctx, 'rollback', s.lockTtlMs, s.force);
  } catch (error) {
    if (error instanceof LockHeldError) {
      return finish(`Another deploy or rollback holds the release: ${error.message}`, [
        'If that run is no longer running (cancelled, runner lost), re-run this rollback with `force: true`.',
      ]);
    }
    return finish(`Could not start the rollback: ${describeError(error)}`);
  }
  if (session.lock.tookOverFrom) {
    warnings.push(
      `Release lock taken over from ${session.lock.tookOverFrom.identity}${session.lock.tookOverFrom.expired ? ' (expired)' : ' (force: true)'}.`,
    );
  }

  const { kube } = session;
  let scaledToZero = false;
  try {
    let plan: Plan;
    try {
      plan = await planRollback(kube, s);
    } catch (error) {
      if (error instanceof UnknownRevisionError || error instanceof NothingToRollBackToError)
        return finish(error.message);
      throw error;
    }
    outputs['rolled-back-from'] = describe(plan.from);
    report.facts.push({ label: 'From', value: describe(plan.from) });

    const previous = parseRecord(plan.deployment.metadata?.annotations?.[ROLLED_BACK_ANNOTATION]);
    if (
      previous &&
      plan.from.image === previous.to.image &&
      (s.toRevision === undefined || s.toRevision === previous.to.revision)
    ) {
      outputs['rolled-back-from'] = describe(previous.from);
      outputs['rolled-back-to'] = describe(previous.to);
      report.facts.push({
        label: 'Already',
        value: `rolled back to ${describe(previous.to)} by ${previous.run} at ${previous.at}`,
      });
      report.headline = `Nothing to do: ${release} was already rolled back from ${describe(previous.from)} to ${describe(previous.to)}; it is not rolled back any further.`;
      return finish();
    }
    outputs['rolled-back-to'] = describe(plan.to);
    report.facts.push({ label: 'To', value: describe(plan.to) });

    const notifyText = (status: 'IN PROGRESS' | 'COMPLETE' | 'FAILED'): string =>
      rollbackInitiatedText({
        environment: s.records.environment,
        fromVersion: versionOf(plan.from.image),
        toVersion: versionOf(plan.to.image),
        reason: s.reason,
        time: new Date(started),
        status,
        incident: s.incident,
      });
    await notify(notifyText('IN PROGRESS'));

    const replicasBefore = plan.deployment.spec?.replicas ?? 1;
    if (s.database) {
      const database = s.database;
      await step('Stop the engine: scale to 0 and wait until no pod remains (§4.4 step 1)', async () => {
        await scaleToZero(kube, namespace, name, ctx.clock, s.timeoutMs);
        scaledToZero = true;
      });
      const restore = await step(
        `Restore the database to ${database.recoveryTime.toISOString()} (§4.4 steps 2–3)`,
        () =>
          runRestoreCommands(database.restoreCommands, database.recoveryTime, database.restoreTimeoutMs, (line) =>
            ctx.log.info(line),
          ),
      );
      for (const r of restore) {
        steps.push({
          name: `  ${r.command}`,
          status: r.ok ? 'done' : 'failed',
          durationMs: r.durationMs,
          detail: r.summary,
        });
      }
      const failed = restore.find((r) => !r.ok);
      if (failed) {
        steps[steps.length - restore.length - 1]!.status = 'failed';
        for (const c of database.restoreCommands.slice(restore.length))
          steps.push({ name: `  ${c}`, status: 'not-run' });
        steps.push({ name: `Roll back to ${describe(plan.to)}`, status: 'not-run' });
        await notify(notifyText('FAILED'));
        return finish(
          `Database restore failed at \`${failed.command}\` (${failed.summary}). The engine is scaled to 0: the service is DOWN. The release was NOT rolled back.`,
          [
            'Fix the restore and run the remaining restore commands by hand (see the steps above), then re-run this rollback.',
            `To bring the current version back without a restore: \`kubectl scale deployment ${name} -n ${namespace} --replicas=${replicasBefore}\`.`,
          ],
        );
      }
    }

    const rollout = await step(
      `Roll back to ${describe(plan.to)} (§4.${s.toRevision === undefined ? '2' : '3'})`,
      async () => {
        if (s.target.driver === 'helm') return helmRollback(plan);
        return kubectlUndo(plan);
      },
    );
    if (!rollout.ok) {
      await notify(notifyText('FAILED'));
      return finish(
        `Rollback to ${describe(plan.to)} did not become healthy: ${rollout.message}${scaledToZero ? ' The database was restored.' : ''}`,
        [`\`kubectl describe deployment ${name} -n ${namespace}\``, `\`kubectl get pods -n ${namespace} -o wide\``],
      );
    }

    if (scaledToZero) {
      await step(`Scale back to ${replicasBefore} replica(s) (§4.4 step 5)`, async () => {
        const result = await scaleTracked(
          kube,
          trackOptions(0, async () => {}),
          replicasBefore,
        );
        if (!result.ok) throw new Error(result.message);
      });
    }

    // A chart that leaves replicas to the autoscaler comes back at the failed canary's size; the
    // autoscaler would only fix that at its next sync, so bring it to the autoscaler's floor now.
    const hpa = await autoscalerOf(kube, namespace, name);
    const now = (await kube.apps.readNamespacedDeployment({ name, namespace })).spec?.replicas ?? 1;
    if (hpa?.spec?.minReplicas && now < hpa.spec.minReplicas) {
      const floor = hpa.spec.minReplicas;
      await step(`Scale to the autoscaler's minimum, ${floor} replicas`, async () => {
        const result = await scaleTracked(
          kube,
          trackOptions(0, async () => {}),
          floor,
        );
        if (!result.ok) throw new Error(result.message);
      });
    }

    const verified = await step('Verify health (§4.2, §4.5 step 1)', () => verifyHealth());
    if (!verified.ok) {
      await notify(notifyText('FAILED'));
      return finish(`Rolled back to ${describe(plan.to)}, but the health checks fail: ${verified.detail}`, [
        `\`kubectl logs -n ${namespace} -l app.kubernetes.io/name=veloz --tail=100\``,
      ]);
    }

    if (s.postgresUrl) await postRollbackQuery();
    await annotate(kube, namespace, name, {
      [ROLLED_BACK_ANNOTATION]: JSON.stringify({
        from: plan.from,
        to: plan.to,
        run: ctx.run.runUrl,
        at: new Date(ctx.clock.now()).toISOString(),
      }),
    });
    await records(plan);
    await notify(notifyText('COMPLETE'));
    report.headline = `Rolled back from ${describe(plan.from)} to ${describe(plan.to)} in ${formatDuration(ctx.clock.now() - started)}; health checks pass.`;
    return finish();
  } catch (error) {
    const message = error instanceof HelmError ? error.message : describeError(error);
    if (error instanceof LockLostError) return finish(error.message, [...error.next]); // issue 13: fenced
    return finish(
      `Rollback failed: ${message}${scaledToZero ? ' The engine may still be scaled to 0: the service may be DOWN.' : ''}`,
      [
        s.target.driver === 'helm'
          ? `\`helm history ${release} -n ${namespace}\`, then \`helm rollback ${release} <revision> -n ${namespace} --wait\``
          : `\`kubectl rollout history deployment/${name} -n ${namespace}\`, then \`kubectl rollout undo deployment/${name} -n ${namespace} --to-revision=<revision>\``,
      ],
    );
  } finally {
    await session.close();
  }

  function trackOptions(generationBefore: number, apply: (signal: AbortSignal) => Promise<void>) {
    return {
      namespace,
      deployment: name,
      timeoutMs: s.timeoutMs,
      clock: ctx.clock,
      generationBefore,
      apply,
      log: (line: string) => ctx.log.info(line),
      warn: (line: string) => ctx.log.warning(line),
    };
  }

  async function helmRollback(plan: Plan) {
    const helm = await detectHelm();
    if (plan.latest && PENDING_STATUSES.has(plan.latest.status)) {
      await markRevisionFailed(
        kube,
        namespace,
        plan.latest,
        `Marked failed by the rollback action (${ctx.run.runUrl}): stuck in ${plan.latest.status}, its helm process is gone`,
      );
      const note = `Revision ${plan.latest.revision} was stuck in ${plan.latest.status} (a deploy killed mid-way); it was marked failed so helm could roll back.`;
      report.facts.push({ label: 'Recovered', value: note });
      ctx.log.warning(note);
    } else if (plan.latest?.status === 'failed') {
      report.facts.push({
        label: 'Recovered',
        value: `Revision ${plan.latest.revision} had failed; rolled back over it.`,
      });
    }
    const args = [
      'rollback',
      release,
      String(plan.to.revision),
      '-n',
      namespace,
      '--wait',
      '--timeout',
      goDuration(s.timeoutMs),
      ...forceConflicts(helm.major, plan.latestApplyMethod),
    ];
    return applyTracked(
      kube,
      trackOptions(plan.deployment.metadata?.generation ?? 0, async (signal) => {
        ctx.log.info(`helm ${helm.version}: ${args.join(' ')}`);
        await runHelm(helm, args, { env: session.toolEnv, signal, onLine: (line) => ctx.log.info(`helm: ${line}`) });
      }),
    );
  }

  /** What `kubectl rollout undo` does, through the API: the chosen ReplicaSet's template goes back on. */
  async function kubectlUndo(plan: Plan) {
    const template = structuredClone(plan.replicaSet!.spec!.template!);
    delete template.metadata?.labels?.['pod-template-hash'];
    return applyTracked(
      kube,
      trackOptions(plan.deployment.metadata?.generation ?? 0, async () => {
        await mutateDeployment(kube, namespace, name, (d) => {
          if (!d.spec) return;
          d.spec.template = template;
          // A failed canary left the Deployment at canary size with its autoscaler set aside.
          const preCanary = Number(d.metadata?.annotations?.[PRE_CANARY_REPLICAS_ANNOTATION]);
          if (Number.isInteger(preCanary) && preCanary > 0) d.spec.replicas = preCanary;
          if (d.metadata?.annotations) delete d.metadata.annotations[PRE_CANARY_REPLICAS_ANNOTATION];
        });
        if (plan.deployment.metadata?.annotations?.[SUSPENDED_HPA_ANNOTATION]) await restoreHpa(kube, namespace, name);
      }),
    );
  }

  async function verifyHealth(): Promise<{ ok: boolean; detail: string }> {
    const endpoints: HttpEndpoint[] = [];
    if (s.verifyUrl) endpoints.push(urlEndpoint(s.verifyUrl));
    else {
      const d = await kube.apps.readNamespacedDeployment({ name, namespace });
      const pods = await kube.core.listNamespacedPod({
        namespace,
        labelSelector: labelSelector(d.spec?.selector?.matchLabels),
      });
      const port = String(d.spec?.template?.spec?.containers?.[0]?.ports?.[0]?.containerPort ?? 8080);
      for (const pod of pods.items.filter(isPodReady)) {
        endpoints.push(await proxyEndpoint(kube, 'pods', namespace, pod.metadata?.name ?? '', port));
      }
    }
    if (endpoints.length === 0) return { ok: false, detail: 'no Ready pod to check' };
    const results = await runChecks(
      endpoints.map((ep) => ({ ...healthCheck(ep, { paths: s.healthPaths, timeoutMs: 15_000 }), name: ep.describe })),
      {
        clock: ctx.clock,
      },
    );
    report.checks.push(...results.map((r) => ({ ...r, title: `Health of ${r.name}` })));
    const bad = results.filter((r) => r.status !== 'pass');
    return {
      ok: bad.length === 0,
      detail: bad.map((r) => `${r.name}: ${r.detail ?? r.observed ?? r.status}`).join('; '),
    };
  }

  async function postRollbackQuery(): Promise<void> {
    const t0 = ctx.clock.now();
    try {
      const [first] = await readOnlyQuery({ url: s.postgresUrl!, sql: s.consistencyQuery }); // issue 13: bounded, read-only
      const value = first ? Object.values(first).map(String).join(', ') : 'no rows';
      steps.push({
        name: 'Data consistency query (§4.5 step 2)',
        status: 'done',
        durationMs: ctx.clock.now() - t0,
        detail: `${s.consistencyQuery} → ${value}`,
      });
    } catch (error) {
      const detail = describeError(error).replaceAll(s.postgresUrl ?? '', '<postgres-url>');
      steps.push({
        name: 'Data consistency query (§4.5 step 2)',
        status: 'failed',
        durationMs: ctx.clock.now() - t0,
        detail,
      });
      warnings.push(`Post-rollback consistency query failed: ${detail}`);
    }
  }

  async function records(plan: Plan): Promise<void> {
    if (s.records.deploymentLog) {
      const line = await appendDeploymentLog(
        s.records.deploymentLog,
        new Date(ctx.clock.now()),
        `ROLLBACK from ${versionOf(plan.from.image)}`,
      );
      report.facts.push({ label: 'Deployment log', value: line });
    }
    if (!s.records.githubToken) return;
    try {
      const github = await githubDeployments(s.records.githubToken, ctx.run, s.records.environment);
      const fromVersion = versionOf(plan.from.image).replace(/^v/, '');
      const toVersion = versionOf(plan.to.image).replace(/^v/, '');
      const failed = await github.findLatest((p) => p.version === fromVersion);
      if (failed !== undefined) await github.status(failed, 'failure', `Rolled back: ${s.reason}`);
      // The restored version was deployed by an earlier run, from another commit: record on that deployment.
      const restored =
        (await github.findLatest((p) => p.version === toVersion)) ??
        (await github.ensure(
          { version: toVersion, release, namespace, revision: String(plan.to.revision) },
          `Rollback to ${toVersion}`,
        ));
      await github.status(restored, 'success', `Restored by rollback: ${s.reason}`);
    } catch (error) {
      warnings.push(`GitHub deployment records not updated: ${describeError(error)}.`);
    }
  }

  async function notify(text: string): Promise<void> {
    report.notifications.push(text);
    if (!s.records.notifyWebhook) return;
    const sent = await postNotification(s.records.notifyWebhook, text, ctx.clock);
    if (!sent.ok) warnings.push(`Chat notification not delivered after ${sent.attempts} attempts: ${sent.error}.`);
  }
}

function describe(r: RevisionInfo): string {
  return `revision ${r.revision} (${versionOf(r.image)})`;
}

/** "veloz/engine:1.1.0" -> "v1.1.0" for notifications and the log line. */
function versionOf(image: string): string {
  const last = image.slice(image.lastIndexOf('/') + 1);
  const tag = last.includes(':') ? last.slice(last.indexOf(':') + 1) : image;
  return /^\d/.test(tag) ? `v${tag}` : tag;
}

function parseRecord(text: string | undefined): RollbackRecord | undefined {
  if (!text) return undefined;
  try {
    return JSON.parse(text) as RollbackRecord;
  } catch {
    return undefined;
  }
}
