/**
 * Decision quality of runbook §4.1 under sampling noise: thousands of seeded, simulated monitoring windows
 * per cell, each pass's requests drawn like the noisy engine double draws them (Poisson arrivals, binomial
 * errors, log-normal latency), judged by the real decision code (actions/validate/src/decision.ts) and,
 * on the same samples, by the per-interval consecutive rule Argo Rollouts and Flagger apply.
 */
import { histogramQuantile } from '@veloz/shared/prom/text';
import { FAST_BURN_DEFAULT, RUNBOOK_ROLLBACK } from '@veloz/shared/runbook';
import { createDecider } from '../actions/validate/src/decision';
import type { Sample } from '../actions/validate/src/sample';
import type { DecisionSettings } from '../actions/validate/src/inputs';
import { Rng, drawInterval, type IntervalCounts, type LogNormal } from '../packages/sandbox/src/engine/noise';
import type { Section, Table } from './lib';

export interface DecisionOptions {
  windows: number;
  rates: number[];
  intervalMs: number;
  /** Length of each simulated validate window. */
  durationMs: number;
}

interface Scenario {
  name: string;
  kind: 'false-rollback' | 'detection';
  errorRate: number;
  latency: LogNormal;
}

const HEALTHY_ERRORS = 0.001;
const HEALTHY_LATENCY: LogNormal = { median: 0.05, p99: 0.3 };
const SCENARIOS: Scenario[] = [
  { name: 'errors 3%', kind: 'false-rollback', errorRate: 0.03, latency: HEALTHY_LATENCY },
  { name: 'errors 4.5%', kind: 'false-rollback', errorRate: 0.045, latency: HEALTHY_LATENCY },
  { name: 'p99 0.8 s', kind: 'false-rollback', errorRate: HEALTHY_ERRORS, latency: { median: 0.05, p99: 0.8 } },
  { name: 'errors 6%', kind: 'detection', errorRate: 0.06, latency: HEALTHY_LATENCY },
  { name: 'errors 10%', kind: 'detection', errorRate: 0.1, latency: HEALTHY_LATENCY },
  { name: 'errors 60%', kind: 'detection', errorRate: 0.6, latency: HEALTHY_LATENCY },
  { name: 'p99 1.5 s', kind: 'detection', errorRate: HEALTHY_ERRORS, latency: { median: 0.05, p99: 1.5 } },
];

const SETTINGS: DecisionSettings = { ...RUNBOOK_ROLLBACK, fastBurn: { ...FAST_BURN_DEFAULT } };

/** Onset of a detection scenario: one minute into the window plus a random offset inside an interval. */
const ONSET_MS = 60_000;

interface Outcome {
  /** Time from the onset (or window start) to a rollback verdict; undefined when none. */
  rollbackAfterMs?: number;
  warned: boolean;
}

function merge(a: IntervalCounts, b: IntervalCounts): IntervalCounts {
  return {
    requests: a.requests + b.requests,
    errors: a.errors + b.errors,
    buckets: a.buckets.map((x, i) => ({ le: x.le, count: x.count + b.buckets[i]!.count })),
  };
}

/** The passes of one window: pass k measures ((k−1)·I, k·I]; the first has no counts yet (one scrape). */
export function simulateWindow(
  rng: Rng,
  scenario: Scenario,
  rps: number,
  o: DecisionOptions,
): { samples: Sample[]; onset: number } {
  const onset = scenario.kind === 'detection' ? ONSET_MS + rng.next() * o.intervalMs : 0;
  const passes = Math.floor(o.durationMs / o.intervalMs);
  const samples: Sample[] = [{ at: 0, functionalFailures: {} }];
  for (let k = 1; k <= passes; k++) {
    const from = (k - 1) * o.intervalMs;
    const to = k * o.intervalMs;
    const part = (start: number, end: number, bad: boolean): IntervalCounts =>
      drawInterval(rng, {
        rps,
        seconds: (end - start) / 1000,
        errorRate: bad ? scenario.errorRate : HEALTHY_ERRORS,
        latency: bad ? scenario.latency : HEALTHY_LATENCY,
      });
    const counts =
      onset <= from
        ? part(from, to, true)
        : onset >= to
          ? part(from, to, false)
          : merge(part(from, onset, false), part(onset, to, true));
    samples.push({
      at: to,
      healthy: true,
      errorRate: counts.requests > 0 ? counts.errors / counts.requests : undefined,
      p99Ms: (histogramQuantile(0.99, counts.buckets) ?? Number.NaN) * 1000,
      traffic: { spanMs: o.intervalMs, requests: counts.requests, errors: counts.errors, buckets: counts.buckets },
      functionalFailures: {},
    });
  }
  return { samples, onset };
}

/** Ours: the validate decider, stopping at the first rollback like the monitor does. */
function judgeOurs(samples: readonly Sample[], onset: number, intervalMs: number): Outcome {
  const decider = createDecider(SETTINGS, intervalMs, false);
  for (const s of samples) {
    if (decider.add(s).some((m) => m.action === 'rollback')) return { rollbackAfterMs: s.at - onset, warned: false };
  }
  return { warned: decider.conclude().met.length > 0 };
}

/** The consecutive rule: D ÷ interval samples in a row each above the threshold (no data is not above). */
function judgeConsecutive(samples: readonly Sample[], onset: number, intervalMs: number): Outcome {
  const limit = Math.ceil(RUNBOOK_ROLLBACK.errorRateForMs / intervalMs);
  let errorRun = 0;
  let latencyRun = 0;
  for (const s of samples) {
    errorRun = s.errorRate !== undefined && s.errorRate > RUNBOOK_ROLLBACK.errorRate ? errorRun + 1 : 0;
    latencyRun = Number.isFinite(s.p99Ms) && s.p99Ms! > RUNBOOK_ROLLBACK.p99Ms ? latencyRun + 1 : 0;
    if (errorRun >= limit || latencyRun >= limit) return { rollbackAfterMs: s.at - onset, warned: false };
  }
  return { warned: false };
}

interface CellResult {
  ours: Outcome[];
  consecutive: Outcome[];
}

export function runCell(scenario: Scenario, rps: number, o: DecisionOptions): CellResult {
  const ours: Outcome[] = [];
  const consecutive: Outcome[] = [];
  for (let w = 0; w < o.windows; w++) {
    // One seed per (scenario, rate, window): both rules see exactly the same requests.
    const rng = new Rng(hash(`${scenario.name}|${rps}|${w}`));
    const { samples, onset } = simulateWindow(rng, scenario, rps, o);
    ours.push(judgeOurs(samples, onset, o.intervalMs));
    consecutive.push(judgeConsecutive(samples, onset, o.intervalMs));
  }
  return { ours, consecutive };
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

const pct = (n: number, of: number): string => `${((100 * n) / of).toFixed(n === 0 || n === of ? 0 : 1)}%`;

function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

const sec = (ms: number): string => (Number.isFinite(ms) ? `${Math.round(ms / 1000)} s` : '—');

interface Goal {
  text: string;
  check: (rate: number, rps: number) => boolean | undefined;
}

/** The issue's goals, per scenario, on the share of windows (false rollback) or detections in time. */
function goalFor(scenario: Scenario): Goal | undefined {
  switch (scenario.name) {
    case 'errors 3%':
      return { text: '≤ 0.1%', check: (r) => r <= 0.001 };
    case 'errors 4.5%':
      return { text: '≤ 1% at 20, 400 rps', check: (r, rps) => (rps >= 20 ? r <= 0.01 : undefined) };
    case 'errors 6%':
      return {
        text: '≥ 90% at 20 rps, ≥ 99% at 400 rps',
        check: (r, rps) => (rps === 20 ? r >= 0.9 : rps === 400 ? r >= 0.99 : undefined),
      };
    case 'errors 10%':
      return { text: '≥ 99%', check: (r) => r >= 0.99 };
    case 'errors 60%':
      return { text: '≥ 99% within 1 m + 1 interval', check: (r) => r >= 0.99 };
    default:
      return undefined;
  }
}

export async function decisionFigure(o: DecisionOptions): Promise<Section> {
  const rows: string[][] = [];
  const misses: string[] = [];
  const worse: string[] = [];
  let judged = 0;
  for (const scenario of SCENARIOS) {
    for (const rps of o.rates) {
      const { ours, consecutive } = runCell(scenario, rps, o);
      const goal = goalFor(scenario);
      const deadline =
        scenario.name === 'errors 60%'
          ? FAST_BURN_DEFAULT.windowMs + o.intervalMs
          : RUNBOOK_ROLLBACK.errorRateForMs + 2 * o.intervalMs;
      const inTime = (x: Outcome) => x.rollbackAfterMs !== undefined && x.rollbackAfterMs <= deadline;
      const rolled = (x: Outcome) => x.rollbackAfterMs !== undefined;
      if (scenario.kind === 'false-rollback') {
        const a = ours.filter(rolled).length;
        const b = consecutive.filter(rolled).length;
        const met = goal?.check(a / o.windows, rps);
        if (met !== undefined) judged++;
        if (met === false) misses.push(`${scenario.name} at ${rps} rps: ${pct(a, o.windows)}`);
        if (a > b) worse.push(`${scenario.name} at ${rps} rps`);
        rows.push([
          scenario.name,
          String(rps),
          'false rollback',
          pct(a, o.windows),
          pct(ours.filter((x) => x.warned).length, o.windows),
          pct(b, o.windows),
          '—',
          '—',
          met === undefined ? '—' : met ? 'met' : 'NOT met',
        ]);
      } else {
        const a = ours.filter(inTime).length;
        const b = consecutive.filter(inTime).length;
        const met = goal?.check(a / o.windows, rps);
        if (met !== undefined) judged++;
        if (met === false) misses.push(`${scenario.name} at ${rps} rps: ${pct(a, o.windows)}`);
        if (a < b) worse.push(`${scenario.name} at ${rps} rps`);
        const times = (xs: Outcome[]) => xs.filter(rolled).map((x) => x.rollbackAfterMs!);
        const t = (xs: Outcome[]) => `${sec(quantile(times(xs), 0.5))} / ${sec(quantile(times(xs), 0.95))}`;
        rows.push([
          scenario.name,
          String(rps),
          `detected ≤ ${sec(deadline)}`,
          pct(a, o.windows),
          pct(ours.filter((x) => x.warned).length, o.windows),
          pct(b, o.windows),
          t(ours),
          t(consecutive),
          met === undefined ? '—' : met ? 'met' : 'NOT met',
        ]);
      }
    }
  }
  const table: Table = {
    caption: `${o.windows} seeded windows per row, ${o.durationMs / 60_000} min each at a ${o.intervalMs / 1000} s interval; the same requests judged by both rules`,
    columns: [
      'true behaviour',
      'rps',
      'measure',
      'ours',
      'ours: warn (undecided)',
      'consecutive rule',
      'ours: time to verdict p50 / p95',
      'consecutive: p50 / p95',
      'goal',
    ],
    rows,
  };
  const met = misses.length === 0 && worse.length === 0;
  return {
    key: 'decision',
    title: '8. Decision quality under sampling noise (runbook §4.1)',
    goal: 'false rollback ≤ 0.1% at 3% errors and ≤ 1% at 4.5% (20, 400 rps); detection within D + 2 intervals ≥ 99% at 10%, ≥ 90% at 6% (20 rps), ≥ 99% at 6% (400 rps); 60% within 1 m + 1 interval; each cell at least as good as the consecutive rule',
    met,
    verdict: met
      ? `All ${judged} judged cells meet their goal, and no cell is worse than the consecutive rule.`
      : `${misses.length ? `Missed: ${misses.join('; ')}. ` : ''}${worse.length ? `Worse than the consecutive rule: ${worse.join('; ')}.` : ''}`,
    tables: [table],
    method:
      'Each window simulates a validate run of the runbook defaults (5% for 5 m, 1 s for 5 m, fast burn 50% over 1 m with ≥ 100 requests) in simulated time: ' +
      "every pass draws its requests with the engine double's seeded generators (`packages/sandbox/src/engine/noise.ts`: Poisson arrivals at the rate, binomial 5xx, " +
      "log-normal latency with median 50 ms and the stated p99, spread over the engine's histogram buckets). Healthy traffic is 0.1% errors and p99 0.3 s. " +
      'False-rollback rows are bad from the start and count windows judged `rollback`; detection rows turn bad one minute in (plus a random offset within an interval) ' +
      'and count rollbacks within D + 2 intervals of that onset (1 m + 1 interval for 60%). "Ours" is `createDecider` from `actions/validate/src/decision.ts`, fed pass by ' +
      'pass and stopped at the first rollback, with `conclude()` at the end (warn = the traffic could not decide, or above T but not sustained). The consecutive rule is ' +
      'judged on the same samples: rollback when D ÷ interval = 10 per-pass rates in a row are each above the threshold (per-pass p99 from the bucket counts, as ' +
      '`histogram_quantile`); it has no fast burn, as neither Argo Rollouts nor Flagger has one.',
  };
}
