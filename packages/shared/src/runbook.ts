/**
 * Runbook §3.3 (monitoring validation) and §4.1 (rollback decision criteria), defined once. validate's
 * action.yml defaults, its checks, the §4.1 decision and the report all read these values; a test keeps
 * action.yml equal to them.
 */

/** How a §3.3 figure is written: a fraction (inputs take `0.1%`), milliseconds (`100ms`), or a count. */
export type SloUnit = 'fraction' | 'ms' | 'count';

interface SloMetricRow {
  /** The figure's key in settings, outputs and report data. */
  key: string;
  /** Its key among the Prometheus queries (`query-<input>`). */
  query: string;
  /** The stem of its inputs: `query-<input>`, `expected-<input>`, `alert-<input>`. */
  input: string;
  label: string;
  unit: SloUnit;
  /** Prometheus's answer times this is the figure in `unit` (p99 comes in seconds). */
  scale: number;
  /** §3.3 "Expected" column: reaching it warns. None for connections, which must be "Stable". */
  expected?: number;
  /** §3.3 "Alert Threshold" column: exceeding it fails the check. */
  alert: number;
}

/**
 * Runbook §3.3, one row per metric. validate's settings types, its inputs and the slo check's rows
 * are derived from it: a new metric is a row here plus its inputs in validate/action.yml.
 */
export const SLO_METRICS = Object.freeze([
  {
    key: 'errorRate',
    query: 'errorRate',
    input: 'error-rate',
    label: 'Error rate',
    unit: 'fraction',
    scale: 1,
    expected: 0.001,
    alert: 0.01,
  },
  {
    key: 'p99Ms',
    query: 'p99',
    input: 'p99',
    label: 'P99 latency',
    unit: 'ms',
    scale: 1000,
    expected: 100,
    alert: 500,
  },
  { key: 'cpu', query: 'cpu', input: 'cpu', label: 'CPU usage', unit: 'fraction', scale: 1, expected: 0.5, alert: 0.8 },
  {
    key: 'memory',
    query: 'memory',
    input: 'memory',
    label: 'Memory usage',
    unit: 'fraction',
    scale: 1,
    expected: 0.6,
    alert: 0.85,
  },
  {
    key: 'connections',
    query: 'connections',
    input: 'connections',
    label: 'Active connections',
    unit: 'count',
    scale: 1,
    alert: 1000,
  },
] as const satisfies readonly SloMetricRow[]);

type SloRowOf = (typeof SLO_METRICS)[number];
export type SloMetric = SloRowOf['key'];
/** The §3.3 Prometheus queries, by query key. */
export type SloQueries = { [R in SloRowOf as R['query']]: string };
/** The "Expected" column, for the metrics that have one. */
export type SloExpected = { [R in Extract<SloRowOf, { expected: number }> as R['key']]: number };
/** The "Alert Threshold" column. */
export type SloAlert = Record<SloMetric, number>;

/** §3.3 "Expected" column: reaching it warns. Fractions for rates and usage, ms for latency. */
export const RUNBOOK_EXPECTED: Readonly<SloExpected> = Object.freeze(
  Object.fromEntries(SLO_METRICS.flatMap((m) => ('expected' in m ? [[m.key, m.expected]] : []))) as SloExpected,
);

/** §3.3 "Alert Threshold" column: exceeding it fails the check. */
export const RUNBOOK_ALERT: Readonly<SloAlert> = Object.freeze(
  Object.fromEntries(SLO_METRICS.map((m) => [m.key, m.alert])) as SloAlert,
);

/** §3.3 as one object (what a check judges an observed figure against). */
export const RUNBOOK_SLO = Object.freeze({ expected: RUNBOOK_EXPECTED, alert: RUNBOOK_ALERT });

/** §4.1, the criteria with a threshold; the remaining rows (data inconsistency, critical bug) are "any". */
export const RUNBOOK_ROLLBACK = Object.freeze({
  /** "Health check failures > 3 consecutive": three are tolerated, the fourth decides. */
  consecutiveHealthFailures: 3,
  /** "Error rate > 5% for 5 minutes". */
  errorRate: 0.05,
  errorRateForMs: 5 * 60_000,
  /** "P99 latency > 1s for 5 minutes: evaluate, likely rollback". */
  p99Ms: 1000,
  p99ForMs: 5 * 60_000,
  p99BreachAction: 'rollback' as 'rollback' | 'warn',
});

/**
 * "Critical bug: user-impacting" read as a fast burn: so many requests failing that waiting out the §4.1
 * five minutes is the bigger risk. Not a runbook number; the suite's default, named in the report.
 */
export const FAST_BURN_DEFAULT = Object.freeze({ errorRate: 0.5, windowMs: 60_000, minRequests: 100 });

/** The rows of §3.3 and §4.1 as the runbook prints them, for reports that quote the rule they applied. */
export const RUNBOOK_RULES = Object.freeze({
  healthFailures: '§4.1 health check failures > 3 consecutive → immediate rollback',
  errorRate: '§4.1 error rate > 5% for 5 minutes → immediate rollback',
  p99: '§4.1 P99 latency > 1s for 5 minutes → evaluate, likely rollback',
  consistency: '§4.1 data inconsistency, any detected → immediate rollback',
  criticalBug: '§4.1 critical bug, user-impacting → immediate rollback',
});
