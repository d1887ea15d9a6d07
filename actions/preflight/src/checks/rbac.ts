import { type Check, defineCheck } from '@veloz/shared/checks';
import type { Kube } from '@veloz/shared/kube/client';
import {
  accessQuestions,
  beyondStageQuestions,
  describeAccess,
  describeMissing,
  type AccessQuestion,
  type ReleaseNames,
  type Stage,
} from '@veloz/shared/kube/permissions';

export interface RbacCheckOptions {
  kube: Kube;
  namespace: string;
  /** Whose credential this is: preflight runs in `<environment>-canary`, so `canary` unless told. */
  stage: Stage;
  names: ReleaseNames;
  timeoutMs: number;
}

/** Can this stage's credential do everything its stage will do, and nothing it should not? Asked, not guessed. */
export function rbacCheck(o: RbacCheckOptions): Check {
  return defineCheck('rbac', `Deploy credentials (RBAC, ${o.stage} stage)`, o.timeoutMs, async () => {
    const questions = accessQuestions(o.namespace, o.stage, o.names);
    const beyond = beyondStageQuestions(o.namespace, o.stage, o.names);
    const answers = await mapLimited([...questions, ...beyond], 8, async (q) => ({
      q,
      allowed: await allowed(o.kube, q),
    }));
    const missing = answers
      .slice(0, questions.length)
      .filter((a) => !a.allowed)
      .map((a) => a.q);
    const extra = answers
      .slice(questions.length)
      .filter((a) => a.allowed)
      .map((a) => a.q);
    const observed = `${questions.length - missing.length}/${questions.length} permissions of the ${o.stage} stage granted`;
    const threshold = `every permission the ${o.stage} stage uses${beyond.length ? ', and none beyond it' : ''}`;
    const role = `the veloz-${o.stage} Role in the README ("Least-privilege credentials")`;
    if (missing.length > 0) {
      return {
        status: 'fail',
        observed,
        threshold,
        detail: `Missing: ${describeMissing(missing)}. Grant ${role}.`,
        data: { missing: missing.map(describeAccess) },
      };
    }
    if (extra.length > 0) {
      return {
        status: 'warn',
        observed: `${observed}; it can also ${extra.map(describeAccess).join(', ')}`,
        threshold,
        detail: `This credential can do more than the ${o.stage} stage needs (${extra.map(describeAccess).join(', ')}): a leaked ${o.stage} job could read helm's release Secrets or change the release. Bind the credential of this environment to ${role} only, and keep the promote credential in the environment with reviewers.`,
        data: { beyond: extra.map(describeAccess) },
      };
    }
    return { status: 'pass', observed, threshold };
  });
}

async function allowed(kube: Kube, q: AccessQuestion): Promise<boolean> {
  const review = await kube.authorization.createSelfSubjectAccessReview({
    body: {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: {
        resourceAttributes: {
          group: q.group,
          resource: q.resource,
          subresource: q.subresource,
          verb: q.verb,
          namespace: q.namespace,
          name: q.name,
        },
      },
    },
  });
  return review.status?.allowed === true;
}

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!);
      }
    }),
  );
  return results;
}
