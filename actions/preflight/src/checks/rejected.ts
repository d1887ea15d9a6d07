/**
 * A version a rollback rejected is not deployed again by the next push: it fails the checklist unless
 * `override-reason` says why it is fine now (then a warning, recorded like the window override).
 */
import { type Check, defineCheck } from '@veloz/shared/checks';
import type { Kube } from '@veloz/shared/kube/client';
import {
  findRejected,
  listRejected,
  readRejectedVersions,
  rejectedConfigMapName,
} from '@veloz/shared/kube/rejected-versions';
import type { TargetSettings } from '@veloz/shared/target';

interface RejectedOptions {
  kube: Kube;
  target: TargetSettings;
  version: string;
  overrideReason?: string;
  timeoutMs: number;
}

export function rejectedCheck(options: RejectedOptions): Check {
  const { namespace, release } = options.target;
  const map = rejectedConfigMapName(release);
  return defineCheck('rejected', 'Version not rejected by a rollback', options.timeoutMs, async () => {
    const list = await readRejectedVersions(options.kube, namespace, release);
    const threshold = `not in ConfigMap ${map}`;
    const data = { rejected: listRejected(list) };
    const hit = findRejected(list, options.version);
    if (!hit) {
      const observed = list.length === 0 ? 'no version rejected' : `${options.version} not among ${data.rejected}`;
      return { status: 'pass', observed, threshold, data };
    }
    const why = `${options.version} was rolled back at ${hit.at} (${hit.reason}) by ${hit.run}${hit.rolledBackTo ? `, to ${hit.rolledBackTo}` : ''}.`;
    const override = options.overrideReason?.trim();
    if (override) {
      return {
        status: 'warn',
        observed: `${options.version} rejected, OVERRIDDEN`,
        threshold,
        detail: `Rejected version deployed with override reason "${override}". ${why}`,
        data: { ...data, override },
      };
    }
    return {
      status: 'fail',
      observed: `${options.version} rejected`,
      threshold,
      detail: `${why} Deploy a fixed version, or set override-reason to deploy it anyway (it is recorded in the report). Record: \`kubectl get configmap ${map} -n ${namespace} -o yaml\`.`,
      data,
    };
  });
}
