/**
 * The version this rollback rolled back from is rejected: recorded in the cluster next to the release
 * (with the reason, the time and this run), so preflight refuses to deploy it again unless someone
 * gives an `override-reason`. With a github-token the same record goes to GitHub as well
 * (records/rejections.ts), where the preflight of every other cluster of the release reads it.
 */
import { describeError } from '@veloz/shared/checks';
import type { RunContext } from '@veloz/shared/contract';
import type { KubeSession } from '@veloz/shared/kube/session';
import {
  listRejected,
  normalizeVersion,
  recordRejectedVersion,
  rejectedConfigMapName,
} from '@veloz/shared/kube/rejected-versions';
import type { ActionRun } from '@veloz/shared/pipeline';
import { githubClient } from '@veloz/shared/records/github';
import { recordGithubRejection, repoOf } from '@veloz/shared/records/rejections';
import { redact } from '@veloz/shared/secrets';
import { describeRevision, versionOf } from './describe';
import type { RollbackSettings } from './inputs';
import type { Plan } from './plan';

interface RejectContext {
  s: Readonly<RollbackSettings>;
  ctx: RunContext;
  run: ActionRun;
  session: KubeSession;
  plan?: Plan;
}

export function rejectedVersionOf(plan: Plan): string {
  return normalizeVersion(versionOf(plan.from.image));
}

export async function rejectRolledBackVersion(rollback: RejectContext): Promise<void> {
  const plan = rollback.plan!;
  await rejectVersion(rollback, rejectedVersionOf(plan), describeRevision(plan.to));
}

/** Records `version` as rejected (an aborted canary's too): the next push of it stops at preflight. */
export async function rejectVersion(rollback: RejectContext, version: string, rolledBackTo: string): Promise<void> {
  const { namespace, release } = rollback.s.target;
  const entry = {
    version,
    reason: redact(rollback.s.reason), // a record outlives the run: nothing secret in it
    at: new Date(rollback.ctx.clock.now()).toISOString(),
    run: rollback.ctx.workflowRun.runUrl,
    rolledBackTo,
  };
  const list = await recordRejectedVersion(rollback.session.kube, namespace, release, entry);
  rollback.run.outputs['rejected-versions'] = listRejected(list);
  rollback.run.fact('Rejected', `v${version} (ConfigMap ${rejectedConfigMapName(release)} in ${namespace})`);
  await rejectOnGithub(rollback, entry);
  rollback.run.note(`preflight refuses v${version} unless override-reason is given`);
}

/** Best effort like every GitHub record: the in-cluster copy is written already; a failure is a warning. */
async function rejectOnGithub(rollback: RejectContext, entry: Parameters<typeof recordRejectedVersion>[3]) {
  const { githubToken, environment } = rollback.s.records;
  if (!githubToken) return;
  const { namespace, release } = rollback.s.target;
  const run = rollback.ctx.workflowRun;
  try {
    const gh = repoOf(await githubClient(githubToken, run), run.repository);
    const done = await recordGithubRejection(gh, run, { environment, release, namespace }, entry);
    rollback.run.fact('Rejected everywhere', `GitHub deployment task veloz:reject in ${environment} (${done})`);
  } catch (error) {
    rollback.run.warnings.push(
      `v${entry.version} rejected in this cluster only: GitHub not updated (${describeError(error)}); other clusters' preflight will not see it.`,
    );
  }
}
