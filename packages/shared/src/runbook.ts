/**
 * Runbook §3.3 (monitoring validation) and §4.1 (rollback decision criteria), defined once. validate's
 * action.yml defaults, its checks, the §4.1 decision and the report all read these values; a test keeps
 * action.yml equal to them.
 */

/** §3.3 "Expected" column: reaching it warns. Fractions for rates and usage, ms for latency. */
export const RUNBOOK_EXPECTED = Object.freeze({ errorRate: 0.001, p99Ms: 100, cpu: 0.5, memory: 0.6 });

/** §3.3 "Alert Threshold" column: exceeding it fails the check. */
export const RUNBOOK_ALERT = Object.freeze({ errorRate: 0.01, p99Ms: 500, cpu: 0.8, memory: 0.85, connections: 1000 });

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
