/**
 * The version this rollback rolled back from is rejected: recorded in the cluster next to the release
 * (with the reason, the time and this run), so preflight refuses to deploy it again unless someone
 * gives an `override-reason`.
 */
import type { RunContext } from '@veloz/shared/contract';
import type { KubeSession } from '@veloz/shared/kube/session';
import {
  listRejected,
  normalizeVersion,
  recordRejectedVersion,
  rejectedConfigMapName,
} from '@veloz/shared/kube/rejected-versions';
import type { ActionRun } from '@veloz/shared/pipeline';
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
  const list = await recordRejectedVersion(rollback.session.kube, namespace, release, {
    version,
    reason: redact(rollback.s.reason), // a record outlives the run: nothing secret in it
    at: new Date(rollback.ctx.clock.now()).toISOString(),
    run: rollback.ctx.workflowRun.runUrl,
    rolledBackTo,
  });
  rollback.run.outputs['rejected-versions'] = listRejected(list);
  rollback.run.fact('Rejected', `v${version} (ConfigMap ${rejectedConfigMapName(release)} in ${namespace})`);
  rollback.run.note(`preflight refuses v${version} unless override-reason is given`);
}
