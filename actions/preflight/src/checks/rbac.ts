import { type Check, defineCheck } from '@veloz/shared/checks';
import type { Kube } from '@veloz/shared/kube/client';
import { accessQuestions, describeAccess, type AccessQuestion } from '@veloz/shared/kube/permissions';

/** Can these credentials do everything canary, validate and rollback will do? Asked, not guessed. */
export function rbacCheck(kube: Kube, namespace: string, timeoutMs: number): Check {
  return defineCheck('rbac', 'Deploy credentials (RBAC)', timeoutMs, async () => {
    const questions = accessQuestions(namespace);
    const answers = await mapLimited(questions, 8, async (q) => ({ q, allowed: await allowed(kube, q) }));
    const missing = answers.filter((a) => !a.allowed).map((a) => a.q);
    const observed = `${questions.length - missing.length}/${questions.length} permissions granted`;
    if (missing.length === 0) return { status: 'pass', observed, threshold: 'every permission the actions use' };
    return {
      status: 'fail',
      observed,
      threshold: 'every permission the actions use',
      detail: `Missing: ${missing.map((q) => `${describeAccess(q)} (${q.why})`).join('; ')}. Grant the Role and ClusterRole in the README ("Least-privilege credentials").`,
      data: { missing: missing.map(describeAccess) },
    };
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
