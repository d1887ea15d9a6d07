import { type Check, defineCheck } from '@veloz/shared/checks';
import type { Kube } from '@veloz/shared/kube/client';
import { formatBytes } from '@veloz/shared/parse';

interface LogsCheckOptions {
  namespace: string;
  pods: readonly string[];
  pattern: string;
  /** Matching lines above this fail; fewer but some warn. */
  threshold: number;
  /** Scan from here (the start of the deployment). */
  since: number;
  /** Most bytes read per pod per pass (the API's limitBytes). */
  limitBytes: number;
  timeoutMs: number;
}

/** Matching lines kept to show (the report's data shows 5, its detail 3). */
const FIRST_KEPT = 5;

/**
 * Runbook §3.3 `kubectl logs … --since=15m | grep -i error`, per pod, counted. A pass reads only
 * what was written since the previous pass (sinceSeconds, with timestamps to drop the overlap),
 * at most `limitBytes` per pod; counts add up over the window. A pod whose new lines exceed the
 * limit is read on from the last complete line at the next pass.
 */
export function logsCheck(kube: Kube, options: LogsCheckOptions): Check {
  const regex = new RegExp(options.pattern, 'i');
  const perPod: Record<string, number> = {};
  const lastSeen: Record<string, { stamp: string; at: number; atStamp: number; stepped?: boolean }> = {};
  // The count and the first few lines are all the report shows: a noisy pod over a long window must not
  // keep every matching line in memory.
  let matched = 0;
  const matches: string[] = [];
  return defineCheck('logs', 'No error spikes in logs', options.timeoutMs, async ({ clock }) => {
    const windowSeconds = Math.max(1, Math.ceil((clock.now() - options.since) / 1000));
    const truncated = new Set<string>();
    for (const pod of options.pods) {
      const seen = lastSeen[pod];
      // One second of overlap (sinceSeconds is whole seconds); the timestamps drop lines already
      // counted. After a step past an over-full second, none: that second is left behind.
      const sinceSeconds = seen?.stepped
        ? Math.max(1, Math.ceil((clock.now() - seen.at - 1000) / 1000))
        : Math.max(1, Math.ceil((clock.now() - (seen?.at ?? options.since)) / 1000) + 1);
      const text = String(
        await kube.core.readNamespacedPodLog({
          name: pod,
          namespace: options.namespace,
          sinceSeconds,
          timestamps: true,
          limitBytes: options.limitBytes,
        }),
      );
      const lines = text.split('\n');
      // The last element is '' after a final newline, or a line cut by limitBytes: read it next pass.
      const partial = lines.pop();
      const limited = Boolean(partial) || Buffer.byteLength(text) >= options.limitBytes;
      if (limited) truncated.add(pod);
      const before = lastSeen[pod];
      // Lines share timestamps (a burst in one millisecond): skip as many at the last stamp as were counted.
      let sameStamp = 0;
      for (const line of lines) {
        const space = line.indexOf(' ');
        const stamp = space > 0 ? line.slice(0, space) : '';
        const body = space > 0 ? line.slice(space + 1) : line;
        if (before && stamp < before.stamp) continue;
        if (before && stamp === before.stamp && ++sameStamp <= before.atStamp) continue;
        const at = Date.parse(stamp);
        if (stamp && !Number.isNaN(at)) {
          const current = lastSeen[pod];
          lastSeen[pod] = { stamp, at, atStamp: current?.stamp === stamp ? current.atStamp + 1 : 1 };
        }
        if (!body || !regex.test(body)) continue;
        perPod[pod] = (perPod[pod] ?? 0) + 1;
        if (++matched <= FIRST_KEPT) matches.push(`${pod}: ${body}`);
      }
      // More than limitBytes inside the one-second overlap: step past it rather than read it again.
      if (limited && lastSeen[pod] === before && before) lastSeen[pod] = { ...before, stepped: true };
      perPod[pod] ??= 0;
    }
    const limited = truncated.size
      ? ` (new lines above ${formatBytes(options.limitBytes)} in one pass in ${[...truncated].join(', ')}: read on at the next pass; a larger burst within one second is skipped)`
      : '';
    const observed = `${matched} line(s) matching /${options.pattern}/i in ${options.pods.length} pod(s) over ${windowSeconds}s${limited}`;
    const threshold = `≤ ${options.threshold}`;
    const data = { matches: matched, perPod: { ...perPod }, first: [...matches] };
    if (matched === 0) return { status: 'pass', observed, threshold, data };
    return {
      status: matched > options.threshold ? 'fail' : 'warn',
      observed,
      threshold,
      detail: `First: ${matches.slice(0, 3).join(' | ')}`,
      data,
    };
  });
}
