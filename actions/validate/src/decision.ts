/**
 * Runbook §4.1 as code: after every sample of the monitoring window, decide whether a rollback
 * criterion is met. "Sustained for D" is computed from the samples themselves: every sample in the
 * last D is over the threshold, and there are enough of them to cover D (at least D / interval).
 */
import { formatDuration, formatPercentage } from '@veloz/shared/parse';
import type { DecisionSettings } from './inputs';

/** One pass of the checks, reduced to what the criteria look at. */
export interface Sample {
  /** Scheduled time of the pass (ms since epoch). */
  at: number;
  /** Health endpoints: undefined when the health check did not run. */
  healthy?: boolean;
  /** Error rate as a fraction, undefined when there was no data. */
  errorRate?: number;
  /** p99 latency in ms, undefined when there was no data. */
  p99Ms?: number;
  /** Data-consistency check outcome, undefined when it did not run. */
  consistent?: boolean;
  /** User-impacting functional failures in this pass (check name -> what failed). */
  functionalFailures: Record<string, string>;
}

export type CriterionName =
  'health-check-failures' | 'error-rate' | 'p99-latency' | 'data-inconsistency' | 'critical-bug' | 'canary-vs-baseline';

/** A met criterion: what, since when, by how much, and the samples that prove it. */
export interface CriterionMet {
  criterion: CriterionName;
  action: 'rollback' | 'warn';
  /** When the criterion became true (the time of the deciding sample). */
  metAt: number;
  /** When the breach began (first sample of the proving run). */
  since: number;
  reason: string;
  evidence: Sample[];
}

export interface Decider {
  /** Adds a sample and returns every criterion it meets (each reported once). */
  add(sample: Sample): CriterionMet[];
  readonly samples: readonly Sample[];
}

export function createDecider(settings: DecisionSettings, intervalMs: number, singlePass: boolean): Decider {
  const samples: Sample[] = [];
  const reported = new Set<CriterionName>();

  const report = (met: CriterionMet | undefined, out: CriterionMet[]): void => {
    if (met && !reported.has(met.criterion)) {
      reported.add(met.criterion);
      out.push(met);
    }
  };

  return {
    samples,
    add(sample) {
      samples.push(sample);
      const met: CriterionMet[] = [];
      report(consistencyCriterion(sample), met);
      report(criticalBugCriterion(samples, singlePass), met);
      report(healthCriterion(samples, settings.consecutiveHealthFailures, singlePass), met);
      report(
        sustained(
          samples,
          'error-rate',
          (s) => s.errorRate,
          settings.errorRate,
          settings.errorRateForMs,
          intervalMs,
          'rollback',
          (v) => formatPercentage(v),
        ),
        met,
      );
      report(
        sustained(
          samples,
          'p99-latency',
          (s) => s.p99Ms,
          settings.p99Ms,
          settings.p99ForMs,
          intervalMs,
          settings.p99BreachAction,
          (v) => formatDuration(v),
        ),
        met,
      );
      return met;
    },
  };
}

function consistencyCriterion(sample: Sample): CriterionMet | undefined {
  if (sample.consistent !== false) return undefined;
  return {
    criterion: 'data-inconsistency',
    action: 'rollback',
    metAt: sample.at,
    since: sample.at,
    reason: 'Data inconsistency detected (runbook §4.1: any detected → immediate rollback).',
    evidence: [sample],
  };
}

/**
 * A user-impacting functional failure (smoke, order, SSE, WebSocket) decides when it holds in two
 * passes in a row: one 5xx under load is what the error-rate criterion weighs; the same check failing
 * again is a bug. A single-pass validation has only its one sample to go on.
 */
function criticalBugCriterion(samples: readonly Sample[], singlePass: boolean): CriterionMet | undefined {
  const last = samples[samples.length - 1];
  const before = samples[samples.length - 2];
  if (!last) return undefined;
  const failures = Object.entries(last.functionalFailures).filter(
    ([check]) => singlePass || before?.functionalFailures[check] !== undefined,
  );
  if (failures.length === 0) return undefined;
  return {
    criterion: 'critical-bug',
    action: 'rollback',
    metAt: last.at,
    since: singlePass || !before ? last.at : before.at,
    reason: `User-impacting failure (runbook §4.1 critical bug → immediate rollback): ${failures
      .map(([check, what]) => (what.startsWith(`${check}:`) ? what : `${check}: ${what}`))
      .join('; ')}.`,
    evidence: singlePass || !before ? [last] : [before, last],
  };
}

/** "> N consecutive": the (N+1)th failure in a row decides. A single pass has only one sample to go on. */
function healthCriterion(samples: readonly Sample[], tolerated: number, singlePass: boolean): CriterionMet | undefined {
  const run: Sample[] = [];
  for (let i = samples.length - 1; i >= 0 && samples[i]?.healthy === false; i--) run.unshift(samples[i]!);
  const needed = singlePass ? 1 : tolerated + 1;
  if (run.length < needed) return undefined;
  const last = run[run.length - 1]!;
  return {
    criterion: 'health-check-failures',
    action: 'rollback',
    metAt: last.at,
    since: run[0]!.at,
    reason: singlePass
      ? 'Health endpoints failed in the only validation pass.'
      : `Health checks failed ${run.length} times in a row (runbook §4.1: more than ${tolerated} consecutive → immediate rollback).`,
    evidence: run,
  };
}

/**
 * Every sample in (latest - D, latest] is above the threshold, and there are at least D / interval
 * of them (so a gap or a short window never counts as "sustained"). Equal to the threshold is not above.
 */
export function sustained(
  samples: readonly Sample[],
  criterion: 'error-rate' | 'p99-latency',
  value: (s: Sample) => number | undefined,
  threshold: number,
  forMs: number,
  intervalMs: number,
  action: 'rollback' | 'warn',
  format: (v: number) => string,
): CriterionMet | undefined {
  const latest = samples[samples.length - 1];
  if (!latest) return undefined;
  const window = samples.filter((s) => s === latest || s.at > latest.at - forMs);
  const needed = Math.max(1, Math.ceil(forMs / intervalMs));
  if (window.length < needed) return undefined;
  const values = window.map(value);
  if (!values.every((v): v is number => v !== undefined && v > threshold)) return undefined;
  const label = criterion === 'error-rate' ? 'Error rate' : 'P99 latency';
  const low = Math.min(...values);
  const high = Math.max(...values);
  return {
    criterion,
    action,
    metAt: latest.at,
    since: window[0]!.at,
    reason: `${label} above ${format(threshold)} for ${formatDuration(forMs)} (${window.length} samples, ${format(low)}–${format(high)}; runbook §4.1 → ${action === 'rollback' ? 'rollback' : 'evaluate'}).`,
    evidence: window,
  };
}
