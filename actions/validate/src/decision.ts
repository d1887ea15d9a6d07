/**
 * Runbook §4.1 as code: after every pass of the monitoring window, decide whether a rollback criterion is
 * met. "Error rate > 5% for 5 minutes" and "P99 > 1s for 5 minutes" are judged on the requests behind the
 * samples (./sustained.ts), a fast burn is judged at once, and at the end of the window a criterion the
 * traffic could not decide is said to be undecided (verdict warn), never passed in silence.
 */
import { formatDuration } from '@veloz/shared/parse';
import { RUNBOOK_RULES } from '@veloz/shared/runbook';
import type { DecisionSettings } from './inputs';
import type { Sample } from './sample';
import { pool, slowerThan, type Counts } from './stats';
import { describeCounts, judgeSustained, percent, spanEnd, spanStart, type Judgement } from './sustained';

type CriterionName =
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

/** What the end of the window says about the criteria no pass decided. */
interface Conclusion {
  /** Undecided or unsustained rate criteria over the last D: verdict warn. */
  met: CriterionMet[];
  /** Facts for the report that change no verdict (a window shorter than D). */
  notes: string[];
}

export interface Decider {
  /** Adds a sample and returns every criterion it meets (each reported once). */
  add(sample: Sample): CriterionMet[];
  /** After the last pass: what the traffic could not decide. */
  conclude(): Conclusion;
  /** The samples still kept: only those a criterion can still look at (see keptFrom). */
  readonly samples: readonly Sample[];
}

const errorCounts = (sample: Sample): Counts | undefined =>
  sample.traffic ? { bad: sample.traffic.errors, total: sample.traffic.requests } : undefined;

/** Requests slower than the p99 threshold: "p99 above 1s" is "more than 1% slower than 1s". */
const slowCounts =
  (p99Ms: number) =>
  (s: Sample): Counts | undefined =>
    s.traffic?.buckets ? slowerThan(s.traffic.buckets, p99Ms / 1000) : undefined;

/** The share above which "p99 > L" holds: 1% of requests slower than L. */
const P99_SHARE = 0.01;

interface RateRule {
  criterion: 'error-rate' | 'p99-latency';
  counts: (s: Sample) => Counts | undefined;
  share: number;
  forMs: number;
  action: 'rollback' | 'warn';
  /** "Error rate above 5%", "P99 latency above 1s". */
  title: string;
  /** "errors", "requests slower than 1s". */
  what: string;
  rule: string;
}

export function createDecider(
  settings: DecisionSettings,
  _intervalMs: number,
  singlePass: boolean,
  /** Keep every sample (the reference the bounded decider is tested against). */
  unbounded = false,
): Decider {
  const samples: Sample[] = [];
  let firstAt: number | undefined;
  const reported = new Set<CriterionName>();
  const rules = rateRules(settings);

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
      firstAt ??= sample.at;
      const met: CriterionMet[] = [];
      report(consistencyCriterion(sample), met);
      report(dataTierCriterion(samples, singlePass), met);
      report(fastBurnCriterion(samples, settings), met);
      report(criticalBugCriterion(samples, singlePass), met);
      report(healthCriterion(samples, settings.consecutiveHealthFailures, singlePass), met);
      for (const rule of rules) report(breach(rule, judgeSustained(samples, rule.counts, rule.share, rule.forMs)), met);
      if (!unbounded) samples.splice(0, keptFrom(samples, rules, settings, singlePass));
      return met;
    },
    conclude() {
      const conclusion: Conclusion = { met: [], notes: [] };
      for (const rule of rules) {
        if (reported.has(rule.criterion) || samples.length === 0) continue;
        const j = judgeSustained(samples, rule.counts, rule.share, rule.forMs);
        // A window long enough for D whose counted spans do not cover D (a hole in time between them)
        // could not be judged: that is insufficient data too, not a pass.
        const long = samples.at(-1)!.at - firstAt! >= rule.forMs;
        const warn = undecided(rule, j.state === 'short' && long ? { ...j, state: 'insufficient' } : j);
        if (warn) conclusion.met.push(warn);
        else if (j.state === 'short' && j.counts.total > 0)
          conclusion.notes.push(
            `${rule.title} for ${formatDuration(rule.forMs)}: the window covers ${formatDuration(j.coveredMs)}, shorter than ${formatDuration(rule.forMs)}, so it cannot be met here (${describeCounts(j, rule.what)}).`,
          );
      }
      return conclusion;
    },
  };
}

/**
 * How far a pass's real read time (a span's end) may fall before its scheduled time: none does (the
 * monitor sleeps until the scheduled time), a minute covers any clock jitter. Bounds below assume it.
 */
const SPAN_END_SLACK_MS = 60_000;

/**
 * How many of the oldest samples no criterion can look at again, so a window of any length keeps only
 * about D (+ a minute) of them and every criterion answers as if it had them all (decision.test.ts):
 * - "for D" (joinedWindow): walking back from any later latest, the newest sample with counts whose span
 *   starts at least D before every later latest's span end includes itself and stops; samples without
 *   counts before the first one with counts are skipped, never read;
 * - fast burn: its walk stops at a sample without traffic, or (excluding it) at one starting more than
 *   the burn window before every later latest;
 * - health: a run of failures decides at its (N+1)th sample; data tier and critical bug: the last two.
 */
function keptFrom(
  samples: readonly Sample[],
  rules: readonly RateRule[],
  settings: DecisionSettings,
  singlePass: boolean,
): number {
  const n = samples.length;
  const newest = samples[n - 1]!.at;
  const needed = singlePass ? 1 : settings.consecutiveHealthFailures + 1;
  let from = Math.max(0, n - Math.max(2, needed));
  for (const rule of rules) from = Math.min(from, sustainedFloor(samples, rule, newest - SPAN_END_SLACK_MS));
  const burn = settings.fastBurn;
  if (burn) {
    // every later latest is a sample still to come (add() evaluates the sample it was given)
    const end = newest - SPAN_END_SLACK_MS;
    let floor = 0;
    for (let i = n - 1; i >= 0; i--) {
      const t = samples[i]!.traffic;
      if (!t || spanStart(samples[i]!) < end - burn.windowMs - 0.1 * t.spanMs) {
        floor = i + 1;
        break;
      }
    }
    from = Math.min(from, floor);
  }
  return from;
}

/** The oldest sample a later "for D" window of this rule can include (see keptFrom). */
function sustainedFloor(samples: readonly Sample[], rule: RateRule, futureEnd: number): number {
  // A later latest is either a sample still to come or the newest sample with counts now.
  let latest: Sample | undefined;
  for (let i = samples.length - 1; i >= 0 && !latest; i--)
    if (samples[i]!.traffic && rule.counts(samples[i]!)) latest = samples[i];
  const end = latest ? Math.min(futureEnd, spanEnd(latest)) : futureEnd;
  let first = samples.length;
  for (let i = samples.length - 1; i >= 0; i--) {
    const s = samples[i]!;
    if (!s.traffic || !rule.counts(s)) continue;
    if (spanStart(s) <= end - rule.forMs) return i;
    first = i;
  }
  return first;
}

function rateRules(s: DecisionSettings): RateRule[] {
  return [
    {
      criterion: 'error-rate',
      counts: errorCounts,
      share: s.errorRate,
      forMs: s.errorRateForMs,
      action: 'rollback',
      title: `Error rate above ${percent(s.errorRate)}`,
      what: 'errors',
      rule: 'runbook §4.1 → rollback',
    },
    {
      criterion: 'p99-latency',
      counts: slowCounts(s.p99Ms),
      share: P99_SHARE,
      forMs: s.p99ForMs,
      action: s.p99BreachAction,
      title: `P99 latency above ${formatDuration(s.p99Ms)}`,
      what: `requests slower than ${formatDuration(s.p99Ms)}`,
      rule: `runbook §4.1 → ${s.p99BreachAction === 'rollback' ? 'rollback' : 'evaluate'}`,
    },
  ];
}

function breach(rule: RateRule, j: Judgement): CriterionMet | undefined {
  if (j.state !== 'breach') return undefined;
  const p99Note = rule.criterion === 'p99-latency' ? ` (the p99 is above the threshold when more than 1% are)` : '';
  return {
    criterion: rule.criterion,
    action: rule.action,
    metAt: j.window.at(-1)!.at,
    since: j.since,
    reason: `${rule.title} for ${formatDuration(rule.forMs)}: ${describeCounts(j, rule.what)}${p99Note}, 99% lower bound ${percent(j.lower)}; no part of the window clearly at or below ${percent(rule.share)} (${j.window.length} samples; ${rule.rule}).`,
    evidence: j.window,
  };
}

/** At the end of a window at least D long: a rate criterion the traffic could not settle is a warning. */
function undecided(rule: RateRule, j: Judgement): CriterionMet | undefined {
  if (j.state !== 'insufficient' && j.state !== 'not-sustained') return undefined;
  const last = j.window.at(-1);
  const why =
    j.state === 'not-sustained'
      ? `above ${percent(rule.share)} over ${formatDuration(rule.forMs)} (99% lower bound ${percent(j.lower)}) but not sustained: part of the window is clearly below`
      : j.counts.total === 0
        ? `no requests were measured, so the criterion could not be judged`
        : j.coveredMs < rule.forMs - 0.1 * (j.window.at(-1)?.traffic?.spanMs ?? 0)
          ? `the passes with request counts cover only ${formatDuration(j.coveredMs)} (a hole between them ends the window)`
          : `too few requests to tell it from ${percent(rule.share)} (99% bounds ${percent(j.lower)}–${percent(j.upper)})`;
  return {
    criterion: rule.criterion,
    action: 'warn',
    metAt: last?.at ?? 0,
    since: j.since,
    reason: `${j.state === 'insufficient' ? 'Insufficient data' : 'Not sustained'}: ${rule.title.charAt(0).toLowerCase()}${rule.title.slice(1)} for ${formatDuration(rule.forMs)}: ${describeCounts(j, rule.what)}; ${why}.`,
    evidence: j.window,
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
 * The data tier after the deploy (replication, connections, Redis operations) failing in two passes in
 * a row is §4.1 "data inconsistency": one pass can catch a failover or a checkpoint mid-way; the same
 * failure again means writes are being lost or refused. A single-pass validation decides on its one pass.
 */
export function dataTierCriterion(samples: readonly Sample[], singlePass: boolean): CriterionMet | undefined {
  const last = samples.at(-1);
  const before = samples.at(-2);
  if (!last?.dataTierFailures) return undefined;
  const failures = Object.entries(last.dataTierFailures).filter(
    ([check]) => singlePass || before?.dataTierFailures?.[check] !== undefined,
  );
  if (failures.length === 0) return undefined;
  const evidence = singlePass || !before ? [last] : [before, last];
  return {
    criterion: 'data-inconsistency',
    action: 'rollback',
    metAt: last.at,
    since: evidence[0]!.at,
    reason: `Data tier failing ${singlePass ? 'in the only validation pass' : 'in two passes in a row'} (runbook §4.1 data inconsistency → immediate rollback): ${failures
      .map(([check, what]) => `${check}: ${what}`)
      .join('; ')}.`,
    evidence,
  };
}

/**
 * Fast burn, read as §4.1 "critical bug: user-impacting": an error rate at or above the burn rate over
 * the newest samples reaching back at most the burn window, on at least the minimum requests (so three
 * failures of five never decide). Coverage of the whole window is not required: waiting is the risk.
 */
function fastBurnCriterion(samples: readonly Sample[], settings: DecisionSettings): CriterionMet | undefined {
  const burn = settings.fastBurn;
  const latest = samples.at(-1);
  if (!burn || !latest?.traffic) return undefined;
  const window: Sample[] = [];
  for (let i = samples.length - 1; i >= 0; i--) {
    const t = samples[i]!.traffic;
    if (!t) break;
    if (window.length > 0 && spanStart(samples[i]!) < spanEnd(latest) - burn.windowMs - 0.1 * t.spanMs) break;
    window.unshift(samples[i]!);
  }
  const c = pool(window.map((w) => errorCounts(w)!));
  if (c.total < burn.minRequests || c.bad / c.total < burn.errorRate) return undefined;
  const spanMs = spanEnd(latest) - spanStart(window[0]!);
  return {
    criterion: 'critical-bug',
    action: 'rollback',
    metAt: latest.at,
    since: spanStart(window[0]!),
    reason: `Fast burn (${RUNBOOK_RULES.criticalBug}): errors ${c.bad.toLocaleString('en-US')} of ${c.total.toLocaleString('en-US')} requests over the last ${formatDuration(spanMs)}, ${percent(c.bad / c.total)}; rule fast-burn: error rate ≥ ${percent(burn.errorRate)} over ${formatDuration(burn.windowMs)} with ≥ ${burn.minRequests} requests.`,
    evidence: window,
  };
}

/**
 * A user-impacting functional failure (smoke, order, SSE, WebSocket) decides when the same check fails in
 * two passes in a row: one 5xx under load is what the error-rate criterion weighs; the same check failing
 * again is a bug. Different checks failing in consecutive passes are two blips, not one bug. A
 * single-pass validation has only its one sample to go on.
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
