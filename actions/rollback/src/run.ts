import type { RunContext, RunResult } from '@veloz/shared/contract';
import { describeError } from '@veloz/shared/checks';
import { HelmError, detectHelm } from '@veloz/shared/helm/cli';
import { LockHeldError } from '@veloz/shared/kube/lock';
import type { RolloutResult } from '@veloz/shared/kube/rollout';
import { autoscalerOf } from '@veloz/shared/kube/autoscaler';
import { scaleTracked } from '@veloz/shared/kube/scale';
import { openSession, type KubeSession } from '@veloz/shared/kube/session';
import { rollbackInitiatedText, serviceName, type RollbackInitiated } from '@veloz/shared/notifications';
import { formatDuration } from '@veloz/shared/parse';
import { ActionRun, Finished, runSteps, StepFailure, type Step } from '@veloz/shared/pipeline';
import { greenName, removeGreen } from '@veloz/shared/kube/green';
import { abortCanary, canaryToAbort, type CanaryToAbort } from './abort';
import { releaseHeldPromotion } from './held-promotion';
import { helmRollback, kubectlUndo, recoverStuckRelease, trackOptions } from './apply';
import { databaseRestoreText, runRestoreCommands, scaleToZero } from './database';
import type { DatabaseRestore } from './database-inputs';
import { compareSchema } from './schema';
import { fileIncident } from './incident';
import { describeRevision as describe, versionOf } from './describe';
import type { RollbackSettings } from './inputs';
import { NothingToRollBackToError, UnknownRevisionError, type Plan } from './plan';
import { planRollbackChanges } from './plan-changes';
import { currentReads, readRelease, type ReleaseReads } from './release-reads';
import { alreadyRolledBack, recordRollback } from './records';
import { planSections } from '@veloz/shared/plan/model';
import { openReadSession } from '@veloz/shared/plan/read-session';
import { rejectRolledBackVersion, rejectedVersionOf } from './reject';
import { consistencyQuery, verifyHealth } from './verify';

/** Everything the rollback steps share: the settings, the run's report, the session, what was found. */
interface Rollback {
  s: Readonly<RollbackSettings>;
  ctx: RunContext;
  run: ActionRun;
  session: KubeSession;
  /** The reads before the first write, started beside the lock claim (release-reads.ts). */
  reads?: ReleaseReads;
  plan?: Plan;
  replicasBefore: number;
  scaledToZero: boolean;
  autoscalerFloor?: number;
  /** Set once the §5.4 ROLLBACK INITIATED text went out, so a failure sends its FAILED twin. */
  announced: boolean;
  /** The latest notice, sent or still on its way: the next one waits for it. */
  notified?: Promise<void>;
  /** A side-by-side canary to abort (remove green, nothing else), found before any other step. */
  abort?: CanaryToAbort;
  /** Green running the release's own version: removed after the rollback. */
  greenLeft?: boolean;
  headline?: string;
  /** Set when the first restore command is about to start: before it, a failure puts the engine back. */
  restoreStarted?: boolean;
  /** The §4.4 restore to run: from `pitr` inputs, or set by the schema comparison (`auto`). */
  database?: DatabaseRestore;
  databaseNote?: string;
  incidentUrl?: string;
  incidentNumber?: number;
}

/**
 * Runbook §4.2–4.5 as a list of steps: choose the target, announce, (stop the engine, restore the
 * database,) roll back, (scale back,) verify, query, record. A failing step stops the sequence and
 * says exactly where it left things.
 */
const LOOK_FOR_CANARY: Step<Rollback> = {
  name: 'Look for a side-by-side canary to abort',
  quiet: true,
  run: lookForCanary,
};
const CHOOSE_TARGET: Step<Rollback> = { name: 'Choose the revision to return to', quiet: true, run: chooseTarget };

const STEPS: readonly Step<Rollback>[] = [
  {
    name: 'Compare the schema with the version recorded before the deploy (§4.4)',
    when: (r) => r.s.schema !== undefined,
    run: compareSchema,
  },
  LOOK_FOR_CANARY,
  {
    name: (r) => `Abort the canary: remove ${r.abort?.green?.metadata?.name ?? 'green'}, leave the release as it is`,
    when: (r) => r.abort !== undefined,
    run: (r) => abortCanary(r, r.abort!),
  },
  CHOOSE_TARGET,
  {
    name: 'Open the incident ticket (§4.5 step 5)',
    when: (r) => r.s.incidentTicket !== undefined,
    run: (r) => fileIncident(r, 'IN PROGRESS'),
  },
  { name: 'Announce the rollback (§5.4)', quiet: true, run: (r) => announce(r, 'IN PROGRESS') },
  {
    // Green serves beside blue and holds database connections of its own: it goes before the engine stops.
    name: (r) => `Remove green ${greenName(r.s.target.deployment)} before stopping the engine (§4.4 step 1)`,
    when: (r) => r.database !== undefined && r.greenLeft === true,
    run: removeGreenFirst,
  },
  {
    name: 'Stop the engine: scale to 0 and wait until no pod remains (§4.4 step 1)',
    when: (r) => r.database !== undefined,
    run: stopEngine,
  },
  {
    name: (r) => `Restore the database to ${r.database!.recoveryTime.toISOString()} (§4.4 steps 2–3)`,
    when: (r) => r.database !== undefined,
    run: restoreDatabase,
  },
  {
    name: 'Unpause a Deployment a promotion held',
    quiet: true,
    run: (r) => releaseHeldPromotion(r, releaseReads(r).kube),
  },
  {
    name: (r) => `Roll back to ${describe(r.plan!.to)} (§4.${r.s.toRevision === undefined ? '2' : '3'})`,
    run: rollBack,
  },
  {
    name: (r) => `Mark v${rejectedVersionOf(r.plan!)} as rejected: preflight refuses it without override-reason`,
    run: rejectRolledBackVersion,
  },
  {
    name: (r) => `Scale back to ${r.replicasBefore} replica(s) (§4.4 step 5)`,
    when: (r) => r.scaledToZero,
    run: (r) => scaleTo(r, r.replicasBefore),
  },
  { name: "Read the autoscaler's minimum", quiet: true, run: readAutoscalerFloor },
  {
    name: (r) => `Scale to the autoscaler's minimum, ${r.autoscalerFloor} replicas`,
    when: (r) => r.autoscalerFloor !== undefined,
    run: (r) => scaleTo(r, r.autoscalerFloor!),
  },
  {
    name: (r) => `Remove green ${greenName(r.s.target.deployment)} left beside the rolled-back release`,
    when: (r) => r.greenLeft === true,
    run: removeLeftoverGreen,
  },
  { name: 'Verify health (§4.2, §4.5 step 1)', run: verify },
  { name: 'Data consistency query (§4.5 step 2)', when: (r) => r.s.postgresUrl !== undefined, run: queryData },
  { name: 'Record and announce the rollback (§4.5 steps 3–4)', quiet: true, run: finish },
  {
    name: "Bring the incident ticket up to date: the rollback's timeline",
    quiet: true,
    when: (r) => r.s.incidentTicket !== undefined,
    run: (r) => fileIncident(r, 'COMPLETE'),
  },
];

/** `plan: true`: find what the rollback would do and report it; no lock, no write, no notification. */
const PLAN_STEPS: readonly Step<Rollback>[] = [
  LOOK_FOR_CANARY,
  { ...CHOOSE_TARGET, when: (r) => !r.abort },
  { name: 'Plan the rollback', quiet: true, run: reportPlan },
];

export async function run(settings: Readonly<RollbackSettings>, ctx: RunContext): Promise<RunResult> {
  const { namespace, release } = settings.target;
  const run = new ActionRun(
    'rollback',
    `Rollback: ${release} in ${namespace}`,
    ctx,
    settings.records.notifyWebhook,
    settings.records.notifyRoutes,
  );
  run.fact('Reason', settings.reason);
  const timed = (result: RunResult): RunResult => {
    result.outputs['duration-seconds'] = String(Math.round((ctx.clock.now() - run.started) / 100) / 10);
    return result;
  };

  let session: KubeSession;
  let reads: ReleaseReads | undefined;
  try {
    ({ session, reads } = await prepare(settings, ctx));
  } catch (error) {
    if (error instanceof LockHeldError) {
      return timed(
        run.result(`Another deploy or rollback holds the release: ${error.message}`, [
          'If that run is no longer running (cancelled, runner lost), re-run this rollback with `force: true`.',
        ]),
      );
    }
    return timed(run.result(`Could not start the rollback: ${describeError(error)}`));
  }
  const took = session.lock.tookOverFrom;
  if (took)
    run.warnings.push(
      `Release lock taken over from ${took.identity}${took.sameRun ? ' (a job of this workflow run, which has ended)' : took.expired ? ' (expired)' : ' (force: true)'}.`,
    );

  const state: Rollback = {
    s: settings,
    ctx,
    run,
    session,
    replicasBefore: 1,
    scaledToZero: false,
    announced: false,
    database: settings.database,
    reads,
  };
  try {
    return timed(
      await runSteps(run, settings.plan ? PLAN_STEPS : STEPS, state, {
        // Fencing: a run that lost the release lock to another stops before its next step.
        beforeStep: (next) => session.fence(next),
        explain: (error) => explainFailure(state, error),
        onFailure: async () => {
          await putEngineBack(state).catch((e: unknown) =>
            run.warnings.push(
              `Could not put the engine back to ${state.replicasBefore} replica(s): ${describeError(e)}`,
            ),
          );
          if (state.incidentUrl) await fileIncident(state, 'FAILED');
          if (state.announced) await announce(state, 'FAILED');
        },
      }),
    );
  } finally {
    await session.close();
  }
}

/**
 * Everything before the first step, at once: `helm version`, the release lock's claim and the reads
 * the target choice needs (the canary check shares them). Reads made beside a claim that had to
 * wait or take over are dropped: the steps read again, under the lock.
 */
async function prepare(
  s: Readonly<RollbackSettings>,
  ctx: RunContext,
): Promise<{ session: KubeSession; reads?: ReleaseReads }> {
  // The rollback step awaits it, and reports a failure.
  if (s.target.driver === 'helm') detectHelm().catch(() => undefined);
  if (s.plan) return { session: await openReadSession(s.target, ctx) };
  let reads: ReleaseReads | undefined;
  const session = await openSession(s.target, ctx, 'rollback', s.lockTtlMs, s.force, s.lockWaitMs, (kube) => {
    reads = readRelease(kube, s);
  });
  return { session, reads: session.lock.uncontested ? reads : undefined };
}

async function reportPlan(r: Rollback): Promise<void> {
  const plan = await planRollbackChanges(r);
  r.run.report.title = `Plan only — ${r.run.report.title}`;
  r.run.report.sections.push(...planSections(plan));
  r.headline = `Plan of the ${plan.operation}: ${plan.changes.length} object(s) would change; nothing was changed (plan: true).`;
}

/** The reads before the first write: those made beside the lock claim, unless something was written since. */
function releaseReads(r: Rollback): ReleaseReads {
  return (r.reads = currentReads(r.reads, r.session.kube, r.s));
}

async function lookForCanary(r: Rollback): Promise<void> {
  const { kube, green } = releaseReads(r);
  // A migrated database is restored by the full §4.4 sequence, never by removing green alone.
  r.abort = r.database ? undefined : await canaryToAbort({ ...r, session: { ...r.session, kube } });
  r.greenLeft = !r.abort && (await green) !== undefined;
}

/** A green that runs the release's own version (promotion stopped before removing it) goes too. */
async function removeLeftoverGreen(r: Rollback): Promise<void> {
  const { namespace, deployment } = r.s.target;
  const removed = await removeGreen(r.session.kube, {
    namespace,
    deployment,
    clock: r.ctx.clock,
    timeoutMs: r.s.timeoutMs,
    log: (line) => r.ctx.log.info(line),
  });
  if (removed.removed) r.run.fact('Green', `removed (${removed.pods.join(', ') || 'no pods'})`);
}

async function chooseTarget(r: Rollback): Promise<void | Finished> {
  let plan: Plan;
  try {
    plan = await releaseReads(r).plan;
  } catch (error) {
    if (error instanceof UnknownRevisionError || error instanceof NothingToRollBackToError)
      throw new StepFailure(error.message);
    throw error;
  }
  r.plan = plan;
  r.replicasBefore = plan.deployment.spec?.replicas ?? 1;
  r.run.outputs['rolled-back-from'] = describe(plan.from);
  r.run.fact('From', describe(plan.from));

  const previous = alreadyRolledBack(plan, r.s);
  if (previous) {
    r.run.outputs['rolled-back-from'] = describe(previous.from);
    r.run.outputs['rolled-back-to'] = describe(previous.to);
    r.run.fact('Already', `rolled back to ${describe(previous.to)} by ${previous.run} at ${previous.at}`);
    return new Finished(
      `Nothing to do: ${r.s.target.release} was already rolled back from ${describe(previous.from)} to ${describe(previous.to)}; it is not rolled back any further.`,
    );
  }
  r.run.outputs['rolled-back-to'] = describe(plan.to);
  r.run.fact('To', describe(plan.to));
}

/**
 * The §5.4 text. IN PROGRESS is sent beside the rollback, not before it: a chat webhook that hangs is
 * tried for up to half a minute, and restoring the service must not wait for it. Every later notice
 * waits for the one before, so they arrive in order, and the run ends only once all were sent.
 */
async function announce(r: Rollback, status: RollbackInitiated['status']): Promise<void> {
  r.announced = true;
  const text = rollbackInitiatedText({
    environment: r.s.records.environment,
    fromVersion: versionOf(r.plan!.from.image),
    toVersion: versionOf(r.plan!.to.image),
    reason: r.s.reason,
    time: new Date(r.run.started),
    status,
    incident: r.incidentUrl ?? r.s.incident,
  });
  r.notified = inOrder(r, () => r.run.notify(text));
  if (status !== 'IN PROGRESS') await r.notified;
}

/** Runs `send` once the notice before it was sent; a notice that cannot be sent is a warning. */
function inOrder(r: Rollback, send: () => Promise<void>): Promise<void> {
  return (r.notified ?? Promise.resolve())
    .then(send)
    .catch((error: unknown) => void r.run.warnings.push(`Chat notification failed: ${describeError(error)}.`));
}

async function removeGreenFirst(r: Rollback): Promise<void> {
  await removeLeftoverGreen(r);
  r.greenLeft = false;
}

async function stopEngine(r: Rollback): Promise<void> {
  const { namespace, deployment } = r.s.target;
  await scaleToZero(r.session.kube, namespace, deployment, r.ctx.clock, r.s.timeoutMs, () => {
    r.scaledToZero = true;
  });
}

/** A failure after the engine stopped but before any restore command ran: nothing to protect, so serve again. */
async function putEngineBack(r: Rollback): Promise<void> {
  if (!r.scaledToZero || r.restoreStarted) return;
  await scaleTo(r, r.replicasBefore);
  r.scaledToZero = false;
  r.run.fact('Engine', `put back to ${r.replicasBefore} replica(s): the restore had not started`);
}

async function restoreDatabase(r: Rollback): Promise<void> {
  const database = r.database!;
  const tell = (status: 'IN PROGRESS' | 'COMPLETE' | 'FAILED', detail?: string) => {
    const text = databaseRestoreText({
      service: serviceName(r.s.records.environment),
      recoveryTime: database.recoveryTime,
      reason: r.s.reason,
      status,
      detail,
    });
    return (r.notified = inOrder(r, () => r.run.notify(text)));
  };
  await tell('IN PROGRESS');
  r.restoreStarted = true;
  // Tracked like helm: a run preempted mid-restore marks the lease stopped only once its command ended.
  const session = r.session;
  const restore = await session.kube.fence.track(
    runRestoreCommands(
      database.restoreCommands,
      database.recoveryTime,
      database.restoreTimeoutMs,
      (line) => r.ctx.log.info(line),
      session.fence,
    ),
  );
  for (const c of restore) r.run.substep(c.command, c.ok ? 'done' : 'failed', c.durationMs, c.summary);
  const failed = restore.find((c) => !c.ok);
  await tell(failed ? 'FAILED' : 'COMPLETE', failed ? `${failed.command}: ${failed.summary}` : undefined);
  if (!failed) {
    r.run.outputs['database-restored'] = 'true';
    return;
  }
  for (const c of database.restoreCommands.slice(restore.length)) r.run.substep(c, 'not-run');
  const { namespace, deployment } = r.s.target;
  r.run.note(`stopped at ${failed.command}`);
  throw new StepFailure(
    `Database restore failed at \`${failed.command}\` (${failed.summary}). The engine is scaled to 0: the service is DOWN. The release was NOT rolled back.`,
    [
      'Fix the restore and run the remaining restore commands by hand (see the steps above), then re-run this rollback.',
      `To bring the current version back without a restore: \`kubectl scale deployment ${deployment} -n ${namespace} --replicas=${r.replicasBefore}\`.`,
    ],
  );
}

async function rollBack(r: Rollback): Promise<void> {
  const plan = r.plan!;
  const { namespace, deployment } = r.s.target;
  let rollout: RolloutResult;
  if (r.s.target.driver === 'helm') {
    const recovered = await recoverStuckRelease(r.session, r.s, plan, r.ctx);
    if (recovered) {
      r.run.fact('Recovered', recovered);
      r.ctx.log.warning(recovered);
    }
    rollout = await helmRollback(r.session, r.s, plan, r.ctx);
  } else {
    rollout = await kubectlUndo(r.session, r.s, plan, r.ctx);
  }
  if (!rollout.ok) {
    r.run.note(rollout.message);
    throw new StepFailure(
      `Rollback to ${describe(plan.to)} did not become healthy: ${rollout.message}${r.scaledToZero ? ' The database was restored.' : ''}`,
      [`\`kubectl describe deployment ${deployment} -n ${namespace}\``, `\`kubectl get pods -n ${namespace} -o wide\``],
    );
  }
}

async function scaleTo(r: Rollback, replicas: number): Promise<void> {
  const result = await scaleTracked(r.session.kube, trackOptions(r.s, r.ctx), replicas);
  if (!result.ok) throw new Error(result.message);
}

/**
 * A chart that leaves replicas to the autoscaler comes back at the failed canary's size; the
 * autoscaler would only fix that at its next sync, so the next step brings it to the floor now.
 */
async function readAutoscalerFloor(r: Rollback): Promise<void> {
  const { namespace, deployment: name } = r.s.target;
  const hpa = await autoscalerOf(r.session.kube, namespace, name);
  const now = (await r.session.kube.apps.readNamespacedDeployment({ name, namespace })).spec?.replicas ?? 1;
  const floor = hpa?.spec?.minReplicas;
  r.autoscalerFloor = floor && now < floor ? floor : undefined;
}

async function verify(r: Rollback): Promise<void> {
  const verdict = await verifyHealth(r.session.kube, r.s, r.ctx);
  r.run.report.checks.push(...verdict.results);
  if (verdict.ok) return;
  r.run.note(verdict.detail);
  throw new StepFailure(`Rolled back to ${describe(r.plan!.to)}, but the health checks fail: ${verdict.detail}`, [
    `\`kubectl logs -n ${r.s.target.namespace} -l app.kubernetes.io/name=veloz --tail=100\``,
  ]);
}

/** A failing query is reported and warned about; it does not undo a rollback that is healthy. */
async function queryData(r: Rollback): Promise<void> {
  const answer = await consistencyQuery(r.s.postgresUrl!, r.s.consistencyQuery);
  r.run.note(answer.detail, answer.ok ? undefined : 'failed');
  if (!answer.ok) r.run.warnings.push(`Post-rollback consistency query failed: ${answer.detail}`);
}

async function finish(r: Rollback): Promise<void> {
  const plan = r.plan!;
  await recordRollback(r.session.kube, r.run, r.s, plan, r.ctx);
  await announce(r, 'COMPLETE');
  r.headline = `Rolled back from ${describe(plan.from)} to ${describe(plan.to)} in ${formatDuration(r.ctx.clock.now() - r.run.started)}; health checks pass${r.databaseNote ? `; ${r.databaseNote}` : ''}.`;
}

/** An unexpected failure: what it was, whether the engine may still be down, and how to finish by hand. */
function engineState(r: Rollback): string {
  if (!r.scaledToZero) return '';
  if (!r.restoreStarted)
    return ` Nothing was restored, so the engine is put back to ${r.replicasBefore} replica(s); the release was NOT rolled back.`;
  return ' The engine may still be scaled to 0: the service may be DOWN.';
}

function explainFailure(r: Rollback, error: unknown): { message: string; next: string[] } {
  const { namespace, release, deployment } = r.s.target;
  const message = error instanceof HelmError ? error.message : describeError(error);
  return {
    message: `Rollback failed: ${message}${engineState(r)}`,
    next: [
      r.s.target.driver === 'helm'
        ? `\`helm history ${release} -n ${namespace}\`, then \`helm rollback ${release} <revision> -n ${namespace} --wait\``
        : `\`kubectl rollout history deployment/${deployment} -n ${namespace}\`, then \`kubectl rollout undo deployment/${deployment} -n ${namespace} --to-revision=<revision>\``,
    ],
  };
}
