/**
 * A version a rollback rejected is not deployed again by the next push: it fails the checklist unless
 * `override-reason` says why it is fine now (then a warning, recorded like the window override).
 */
import type { Check, CheckOutcome } from '@veloz/shared/checks';
import type { Kube } from '@veloz/shared/kube/client';
import {
  findRejected,
  listRejected,
  readRejectedVersions,
  rejectedConfigMapName,
} from '@veloz/shared/kube/rejected-versions';
import type { TargetSettings } from '@veloz/shared/target';

export interface RejectedOptions {
  kube: Kube;
  target: TargetSettings;
  version: string;
  overrideReason?: string;
  timeoutMs: number;
}

export function rejectedCheck(o: RejectedOptions): Check {
  const { namespace, release } = o.target;
  const map = rejectedConfigMapName(release);
  return {
    name: 'rejected',
    title: 'Version not rejected by a rollback',
    timeoutMs: o.timeoutMs,
    async run(): Promise<CheckOutcome> {
      const list = await readRejectedVersions(o.kube, namespace, release);
      const threshold = `not in ConfigMap ${map}`;
      const data = { rejected: listRejected(list) };
      const hit = findRejected(list, o.version);
      if (!hit) {
        const observed = list.length === 0 ? 'no version rejected' : `${o.version} not among ${data.rejected}`;
        return { status: 'pass', observed, threshold, data };
      }
      const why = `${o.version} was rolled back at ${hit.at} (${hit.reason}) by ${hit.run}${hit.rolledBackTo ? `, to ${hit.rolledBackTo}` : ''}.`;
      const override = o.overrideReason?.trim();
      if (override) {
        return {
          status: 'warn',
          observed: `${o.version} rejected, OVERRIDDEN`,
          threshold,
          detail: `Rejected version deployed with override reason "${override}". ${why}`,
          data: { ...data, override },
        };
      }
      return {
        status: 'fail',
        observed: `${o.version} rejected`,
        threshold,
        detail: `${why} Deploy a fixed version, or set override-reason to deploy it anyway (it is recorded in the report). Record: \`kubectl get configmap ${map} -n ${namespace} -o yaml\`.`,
        data,
      };
    },
  };
}
