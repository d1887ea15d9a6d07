import type { Check, CheckOutcome } from '@veloz/shared/checks';
import type { Kube } from '@veloz/shared/kube/client';

export interface LogsCheckOptions {
  namespace: string;
  pods: readonly string[];
  pattern: string;
  /** Matching lines above this fail; fewer but some warn. */
  threshold: number;
  /** Scan from here (the start of the deployment). */
  since: number;
  timeoutMs: number;
}

/** Runbook §3.3 `kubectl logs … --since=15m | grep -i error`, per pod, counted. */
export function logsCheck(kube: Kube, o: LogsCheckOptions): Check {
  const regex = new RegExp(o.pattern, 'i');
  return {
    name: 'logs',
    title: 'No error spikes in logs',
    timeoutMs: o.timeoutMs,
    async run({ clock }): Promise<CheckOutcome> {
      const sinceSeconds = Math.max(1, Math.ceil((clock.now() - o.since) / 1000));
      const matches: string[] = [];
      const perPod: Record<string, number> = {};
      for (const pod of o.pods) {
        const text = String(await kube.core.readNamespacedPodLog({ name: pod, namespace: o.namespace, sinceSeconds }));
        const hits = text.split('\n').filter((line) => line && regex.test(line));
        perPod[pod] = hits.length;
        matches.push(...hits.map((line) => `${pod}: ${line}`));
      }
      const observed = `${matches.length} line(s) matching /${o.pattern}/i in ${o.pods.length} pod(s) over ${sinceSeconds}s`;
      const threshold = `≤ ${o.threshold}`;
      const data = { matches: matches.length, perPod, first: matches.slice(0, 5) };
      if (matches.length === 0) return { status: 'pass', observed, threshold, data };
      return {
        status: matches.length > o.threshold ? 'fail' : 'warn',
        observed,
        threshold,
        detail: `First: ${matches.slice(0, 3).join(' | ')}`,
        data,
      };
    },
  };
}
