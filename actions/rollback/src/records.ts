/** Runbook §4.5 step 4: what a rollback leaves behind — the annotation, the log line, GitHub statuses. */
import type { RunContext } from '@veloz/shared/contract';
import { describeError } from '@veloz/shared/checks';
import { ROLLED_BACK_ANNOTATION, annotate } from '@veloz/shared/kube/deployment-edits';
import type { Kube } from '@veloz/shared/kube/client';
import { appendDeploymentLog } from '@veloz/shared/records/deployment-log';
import { githubDeployments } from '@veloz/shared/records/github';
import type { ActionRun } from '@veloz/shared/pipeline';
import { versionOf } from './describe';
import type { RollbackSettings } from './inputs';
import type { Plan, RevisionInfo } from './plan';

/** Kept on the Deployment so a re-run knows this rollback already happened. */
interface RollbackRecord {
  from: RevisionInfo;
  to: RevisionInfo;
  run: string;
  at: string;
}

function previousRollback(plan: Plan): RollbackRecord | undefined {
  const text = plan.deployment.metadata?.annotations?.[ROLLED_BACK_ANNOTATION];
  if (!text) return undefined;
  try {
    return JSON.parse(text) as RollbackRecord;
  } catch {
    return undefined;
  }
}

/** A re-run after a successful rollback finds the release on the version it restored: nothing to do. */
export function alreadyRolledBack(plan: Plan, settings: Readonly<RollbackSettings>): RollbackRecord | undefined {
  const previous = previousRollback(plan);
  const sameTarget = settings.toRevision === undefined || settings.toRevision === previous?.to.revision;
  return previous && plan.from.image === previous.to.image && sameTarget ? previous : undefined;
}

export async function recordRollback(
  kube: Kube,
  run: ActionRun,
  settings: Readonly<RollbackSettings>,
  plan: Plan,
  ctx: RunContext,
): Promise<void> {
  const { namespace, deployment, release } = settings.target;
  const record: RollbackRecord = {
    from: plan.from,
    to: plan.to,
    run: ctx.workflowRun.runUrl,
    at: new Date(ctx.clock.now()).toISOString(),
  };
  await annotate(kube, namespace, deployment, { [ROLLED_BACK_ANNOTATION]: JSON.stringify(record) });
  if (settings.records.deploymentLog) {
    const line = await appendDeploymentLog(
      settings.records.deploymentLog,
      new Date(ctx.clock.now()),
      `ROLLBACK from ${versionOf(plan.from.image)}`,
    );
    run.fact('Deployment log', line);
  }
  if (!settings.records.githubToken) return;
  try {
    const github = await githubDeployments(settings.records.githubToken, ctx.workflowRun, settings.records.environment);
    const fromVersion = versionOf(plan.from.image).replace(/^v/, '');
    const toVersion = versionOf(plan.to.image).replace(/^v/, '');
    const failed = await github.findLatest((p) => p.version === fromVersion);
    if (failed !== undefined) await github.status(failed, 'failure', `Rolled back: ${settings.reason}`);
    // The restored version was deployed by an earlier run, from another commit: record on that deployment.
    const restored =
      (await github.findLatest((p) => p.version === toVersion)) ??
      (await github.ensure(
        { version: toVersion, release, namespace, revision: String(plan.to.revision) },
        `Rollback to ${toVersion}`,
      ));
    await github.status(restored, 'success', `Restored by rollback: ${settings.reason}`);
  } catch (error) {
    run.warnings.push(`GitHub deployment records not updated: ${describeError(error)}.`);
  }
}
