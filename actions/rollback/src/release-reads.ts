/**
 * What the rollback reads before its first write — the Deployment, green, the release history (or
 * the ReplicaSets) and the target chosen from them — started at once, beside the release lock's
 * claim, instead of one after another. The steps that need them await them where they always did,
 * so a failure (no history, unknown revision) is still reported by the step it belongs to.
 */
import type * as k8s from '@kubernetes/client-node';
import type { Kube } from '@veloz/shared/kube/client';
import { findGreen } from '@veloz/shared/kube/green';
import type { RollbackSettings } from './inputs';
import { planRollback, type Plan } from './plan';

export interface ReleaseReads {
  /** The clients these reads go through: the canary check reads the same objects again, for free. */
  kube: Kube;
  green: Promise<k8s.V1Deployment | undefined>;
  plan: Promise<Plan>;
  /** The fence's change count when the reads began: any write since makes them stale. */
  changesBefore: number;
}

export function readRelease(kube: Kube, s: Readonly<RollbackSettings>): ReleaseReads {
  const shared = sharedReads(kube);
  const { namespace, deployment } = s.target;
  const reads: ReleaseReads = {
    kube: shared,
    green: findGreen(shared, namespace, deployment),
    plan: planRollback(shared, s),
    changesBefore: kube.fence.changes,
  };
  // Awaited by the steps that use them; one left unused (an abort ends the run first) is no unhandled rejection.
  for (const read of [reads.green, reads.plan]) read.catch(() => undefined);
  return reads;
}

/** The reads made beside the lock claim while nothing has changed since, else the same reads made now. */
export function currentReads(reads: ReleaseReads | undefined, kube: Kube, s: Readonly<RollbackSettings>): ReleaseReads {
  return reads && kube.fence.changes === reads.changesBefore ? reads : readRelease(kube, s);
}

const READ = /^(read|list)/;

/**
 * The clients with identical reads sharing one request: the canary check and the target choice both
 * read the Deployment and green, at the same moment. Only for the reads before the first write (a
 * shared answer is never refreshed); writes pass straight through.
 */
function sharedReads(kube: Kube): Kube {
  const answers = new Map<string, Promise<unknown>>();
  const share = <T extends object>(api: T, prefix: string): T =>
    new Proxy(api, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function' || !READ.test(String(property))) return value;
        return (...args: unknown[]): Promise<unknown> => {
          const key = `${prefix}.${String(property)} ${JSON.stringify(args)}`;
          let answer = answers.get(key);
          if (!answer) {
            answer = (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
            answers.set(key, answer);
          }
          return answer;
        };
      },
    });
  return { ...kube, core: share(kube.core, 'core'), apps: share(kube.apps, 'apps') };
}
