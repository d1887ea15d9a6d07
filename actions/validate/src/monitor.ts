import { runChecks, type Check, type CheckResult } from '@veloz/shared/checks';
import type { Clock } from '@veloz/shared/clock';
import type { CriterionMet, Decider } from './decision';
import type { Sample, Traffic } from './sample';

export interface Pass {
  index: number;
  /** Scheduled time of the pass: start + index × interval, so sampling does not drift. */
  at: number;
  results: CheckResult[];
  sample: Sample;
  met: CriterionMet[];
  /** Wall time of the pass's checks, all run at once: a pass slower than its interval shows here. */
  tookMs: number;
}

interface MonitorOptions {
  checks: readonly Check[];
  clock: Clock;
  durationMs: number;
  intervalMs: number;
  decider: Decider;
  onPass?: (pass: Pass) => void;
}

export interface MonitorOutcome {
  /** Passes run; each went to onPass (the window keeps none of them). */
  count: number;
  first: Pass;
  last: Pass;
  met: CriterionMet[];
  /** The window was cut short because a rollback criterion was met. */
  stoppedEarly: boolean;
}

/**
 * The monitoring window of runbook §3: every check each interval, the §4.1 criteria after every
 * sample, and an immediate stop when a rollback criterion is met — it never waits out the window.
 */
export async function monitor(options: MonitorOptions): Promise<MonitorOutcome> {
  const start = options.clock.now();
  let first: Pass | undefined;
  const met: CriterionMet[] = [];
  for (let index = 0; ; index++) {
    const at = start + index * options.intervalMs;
    if (index > 0) await options.clock.sleep(Math.max(0, at - options.clock.now()));
    const began = options.clock.now();
    const results = await runChecks(options.checks, { clock: options.clock });
    const tookMs = options.clock.now() - began;
    const sample = toSample(results, at);
    const pass: Pass = { index, at, results, sample, met: options.decider.add(sample), tookMs };
    first ??= pass;
    met.push(...pass.met);
    options.onPass?.(pass);
    const done = { count: index + 1, first, last: pass, met };
    if (met.some((m) => m.action === 'rollback')) return { ...done, stoppedEarly: true };
    if (at + options.intervalMs > start + options.durationMs) return { ...done, stoppedEarly: false };
  }
}

/** The data-tier checks (runbook §3.4 items 8–10): their failures feed §4.1 "data inconsistency". */
const DATA_TIER_CHECKS: readonly string[] = ['postgres', 'redis'];

/** What the §4.1 criteria need from one pass. Prometheus figures win over the engine's own /metrics. */
function toSample(results: readonly CheckResult[], at: number): Sample {
  const by = (name: string): CheckResult | undefined => results.find((r) => r.name === name);
  const num = (value: unknown): number | undefined =>
    typeof value === 'number' && Number.isFinite(value) ? value : undefined;
  const health = by('health');
  const slo = by('slo')?.data;
  const metrics = by('metrics')?.data;
  const consistency = by('consistency');
  const functionalFailures: Record<string, string> = {};
  const dataTierFailures: Record<string, string> = {};
  for (const r of results) {
    const failure = r.data?.functionalFailure;
    if (r.status === 'fail' && typeof failure === 'string') functionalFailures[r.name] = failure;
    if (r.status === 'fail' && DATA_TIER_CHECKS.includes(r.name)) {
      dataTierFailures[r.name] = r.detail ?? r.observed ?? 'failed';
    }
  }
  return {
    at,
    healthy: health ? health.status === 'pass' : undefined,
    errorRate: num(slo?.errorRate) ?? num(metrics?.errorRate),
    p99Ms: num(slo?.p99Ms) ?? num(metrics?.p99Ms),
    traffic: trafficOf(slo?.traffic) ?? trafficOf(metrics?.traffic),
    consistent:
      consistency && consistency.data?.consistent !== undefined ? consistency.data.consistent === true : undefined,
    functionalFailures,
    dataTierFailures,
  };
}

/** The request counts a check measured for this pass, when they are whole and sane. */
function trafficOf(value: unknown): Traffic | undefined {
  const t = value as Partial<Traffic> | undefined;
  if (!t || typeof t !== 'object') return undefined;
  const { end, spanMs, requests, errors, buckets } = t;
  if (![spanMs, requests, errors].every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0)) return undefined;
  if (spanMs! <= 0) return undefined;
  return {
    end: typeof end === 'number' && Number.isFinite(end) ? end : undefined,
    spanMs: spanMs!,
    requests: Math.round(requests!),
    errors: Math.min(Math.round(errors!), Math.round(requests!)),
    buckets,
  };
}
