/**
 * A monitoring window of any length costs the same memory at its end as at its start (issue 30): the
 * decider keeps only the samples a §4.1 criterion can still look at and answers exactly as if it had
 * them all; the report keeps its charts down-sampled; the logs check keeps a count and the first lines.
 */
import { describe, expect, test } from '@jest/globals';
import { ManualClock } from '@veloz/harness/clock';
import { defineCheck } from '@veloz/shared/checks';
import { DownsampledSeries, MAX_POINTS, chartLegend, downsample, mermaidXyChart } from '@veloz/shared/charts';
import type { Kube } from '@veloz/shared/kube/client';
import { logsCheck } from '../../actions/validate/src/checks/logs';
import { createDecider } from '../../actions/validate/src/decision';
import type { DecisionSettings } from '../../actions/validate/src/inputs';
import { monitor } from '../../actions/validate/src/monitor';
import { PassHistory } from '../../actions/validate/src/pass-history';
import { passLine } from '../../actions/validate/src/validate-summary';
import type { Sample } from '../../actions/validate/src/sample';

const RUNBOOK: DecisionSettings = {
  consecutiveHealthFailures: 3,
  errorRate: 0.05,
  errorRateForMs: 300_000,
  p99Ms: 1000,
  p99ForMs: 300_000,
  p99BreachAction: 'rollback',
  fastBurn: { errorRate: 0.5, windowMs: 60_000, minRequests: 100 },
};
const T0 = Date.parse('2026-02-23T12:00:00Z');

/** A deterministic pseudo-random stream (mulberry32), so a failing seed can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Samples at `intervalMs` whose error share drifts through clean, breaching and bursty stretches, with
 * failed scrapes (no counts), missing latency buckets, late reads, holes in time and health failures.
 */
function samples(count: number, seed: number, intervalMs: number): Sample[] {
  const rnd = random(seed);
  const out: Sample[] = [];
  let share = 0.01;
  let at = T0;
  let lastEnd = T0;
  for (let i = 0; i < count; i++) {
    at += intervalMs;
    const hole = rnd() < 0.002; // a hole in time: the next span does not reach back to the last read
    if (hole) at += 20 * intervalMs;
    if (rnd() < 0.01) share = [0.005, 0.03, 0.06, 0.2, 0.7][Math.floor(rnd() * 5)]!;
    const end = at + (rnd() < 0.1 ? Math.floor(rnd() * 0.9 * intervalMs) : 0); // a late read
    // a span starts at the last good read: it covers the passes whose scrape failed
    const spanMs = hole ? intervalMs : end - lastEnd;
    const requests = Math.floor((rnd() * 40 * spanMs) / intervalMs);
    const errors = Math.min(requests, Math.round(requests * share * (0.5 + rnd())));
    const slow = Math.min(requests, Math.round(requests * share * rnd()));
    const counted = rnd() > 0.05;
    if (counted) lastEnd = end;
    out.push({
      at,
      healthy: rnd() > 0.03,
      errorRate: counted && requests ? errors / requests : undefined,
      traffic: counted
        ? {
            end,
            spanMs,
            requests,
            errors,
            buckets:
              rnd() > 0.05
                ? [
                    { le: 0.5, count: requests - slow },
                    { le: 1, count: requests - slow },
                    { le: Infinity, count: requests },
                  ]
                : undefined,
          }
        : undefined,
      functionalFailures: rnd() < 0.01 ? { smoke: 'smoke: GET /api/market answered 500' } : {},
      dataTierFailures: rnd() < 0.01 ? { redis: 'PING timed out' } : {},
    });
  }
  return out;
}

describe('the decider keeps a bounded window of samples and decides as if it kept them all', () => {
  for (const [seed, settings] of [
    [1, RUNBOOK],
    [2, { ...RUNBOOK, fastBurn: undefined }],
    [3, { ...RUNBOOK, errorRateForMs: 60_000, p99ForMs: 120_000, consecutiveHealthFailures: 6 }],
    [4, RUNBOOK],
  ] as const) {
    test(`seed ${seed}: every pass's criteria and the window's conclusion are the same`, () => {
      // conclude() after every pass compares each rule's judgement of the window, not only when it is met;
      // after a criterion is met (each is reported once) both start over, so later breaches are compared too
      let bounded = createDecider(settings, 1000, false);
      let reference = createDecider(settings, 1000, false, true);
      let most = 0;
      let restarts = 0;
      for (const s of samples(4000, seed, 1000)) {
        const met = bounded.add(s);
        expect(met).toEqual(reference.add(s));
        expect(bounded.conclude()).toEqual(reference.conclude());
        most = Math.max(most, bounded.samples.length);
        if (met.length > 0) {
          bounded = createDecider(settings, 1000, false);
          reference = createDecider(settings, 1000, false, true);
          restarts++;
        }
      }
      expect(restarts).toBeGreaterThan(5);
      // D (5 min) and the minute of slack at 1 s, plus the late spans reaching back: never the window
      expect(most).toBeLessThan(450);
    }, 120_000);
  }

  test('after 10,000 passes at 1 s it holds about D plus a minute of samples', () => {
    const decider = createDecider(RUNBOOK, 1000, false);
    let most = 0;
    for (const s of samples(10_000, 7, 1000)) {
      decider.add(s);
      most = Math.max(most, decider.samples.length);
    }
    expect(most).toBeLessThan(450);
    expect(decider.samples.length).toBeGreaterThanOrEqual(300); // it still covers D
  });

  test('samples with no counts at all are not kept for ever', () => {
    const decider = createDecider(RUNBOOK, 1000, false);
    for (let i = 0; i < 10_000; i++) decider.add({ at: T0 + i * 1000, healthy: true, functionalFailures: {} });
    expect(decider.samples.length).toBeLessThanOrEqual(4);
    // the window was long enough for D, and without counts that is insufficient data, as before
    expect(decider.conclude().met.map((m) => m.reason)).toEqual([
      expect.stringContaining('Insufficient data: error rate above 5%'),
      expect.stringContaining('Insufficient data: p99 latency above 1s'),
    ]);
  });
});

describe('chart series built pass by pass', () => {
  test('10,000 passes keep at most 2 × MAX_POINTS points, each the maximum of its passes', () => {
    const series = new DownsampledSeries();
    const values: (number | null)[] = [];
    for (let i = 0; i < 10_000; i++) {
      const value = i % 97 === 0 ? null : Math.sin(i / 50) + (i === 6_543 ? 10 : 0);
      values.push(value);
      series.add({ at: i * 1000, value });
    }
    const built = series.series('target');
    expect(built.points.length).toBeLessThanOrEqual(2 * MAX_POINTS);
    expect(built.passes).toBe(10_000);
    // the spike survives, and every point is the maximum of the consecutive passes it stands for
    expect(Math.max(...built.points.map((p) => p.value ?? -Infinity))).toBe(Math.sin(6_543 / 50) + 10);
    // a point stands for a power of two of passes: the fewest that fit 10,000 passes in 2 × MAX_POINTS
    let per = 1;
    while (Math.ceil(10_000 / per) > 2 * MAX_POINTS) per *= 2;
    expect(built.points).toHaveLength(Math.ceil(10_000 / per));
    built.points.forEach((p, k) => {
      const own = values.slice(k * per, (k + 1) * per).filter((v) => v !== null);
      expect(p.at).toBe(k * per * 1000);
      expect(p.value).toBe(Math.max(...own));
    });
    const chart = { title: 'Error rate per pass', unit: 'fraction' as const, series: [built], thresholds: [] };
    expect(downsample(built.points).length).toBeLessThanOrEqual(MAX_POINTS);
    expect(chartLegend(chart)).toContain('10000 passes shown as');
    expect(mermaidXyChart(chart)).toContain('line [');
  });

  test('a short window keeps one point a pass, as before', () => {
    const series = new DownsampledSeries();
    for (let i = 0; i < 30; i++) series.add({ at: i, value: i });
    expect(series.series('x').points).toEqual(Array.from({ length: 30 }, (_, i) => ({ at: i, value: i })));
  });
});

describe('a 10,000-pass window on a ManualClock', () => {
  test('keeps the first and last pass, the count and bounded charts, not the passes', async () => {
    const clock = new ManualClock(T0);
    const decider = createDecider(RUNBOOK, 1000, false);
    let n = 0;
    const check = defineCheck('metrics', 'Metrics endpoint', 1000, async () => ({
      status: 'pass',
      data: {
        errorRate: 0.01,
        p99Ms: 100 + (n++ % 10),
        traffic: { spanMs: 1000, requests: 20, errors: 0 },
      },
    }));
    let windowStart = T0;
    const history = new PassHistory(() => windowStart, true);
    const running = monitor({
      checks: [check],
      clock,
      durationMs: 10_000 * 1000 - 1,
      intervalMs: 1000,
      decider,
      onPass: (pass) => {
        if (pass.index === 0) windowStart = pass.at;
        history.add(pass);
      },
    });
    let done = false;
    void running.then(() => (done = true));
    while (!done) await clock.advance(1000);
    const outcome = await running;
    expect(outcome.count).toBe(10_000);
    expect(outcome.first.index).toBe(0);
    expect(outcome.last.index).toBe(9_999);
    expect(history.count).toBe(10_000);
    expect(history.charts.target.p99Ms.series('p99').points.length).toBeLessThanOrEqual(2 * MAX_POINTS);
    expect(decider.samples.length).toBeLessThan(400);
    // Mann-Whitney needs every value: a number a pass and figure, nothing else
    expect(history.compared.metrics.p99Ms).toHaveLength(10_000);
  }, 60_000);
});

describe('logs check over a long window', () => {
  test('keeps the count and the first five matching lines, not every line', async () => {
    let second = 0;
    const kube = {
      core: {
        // each pass: 1,000 new error lines stamped in the pass's own second
        readNamespacedPodLog: async () => {
          second++;
          const stamp = new Date(T0 + second * 1000).toISOString();
          return Array.from({ length: 1000 }, (_, i) => `${stamp} ERROR [risk] line ${second}-${i}\n`).join('');
        },
      },
    } as unknown as Kube;
    const clock = new ManualClock(T0);
    const check = logsCheck(kube, {
      namespace: 'veloz',
      pods: ['p'],
      pattern: 'error',
      threshold: 10,
      since: T0,
      limitBytes: 5 * 1024 * 1024,
      timeoutMs: 1000,
    });
    let data: { matches: number; first: string[] } = { matches: 0, first: [] };
    for (let pass = 0; pass < 50; pass++) {
      await clock.advance(1000);
      data = (await check.run({ signal: new AbortController().signal, clock })).data as typeof data;
    }
    expect(data.matches).toBe(50_000);
    expect(data.first).toHaveLength(5);
    expect(data.first[0]).toBe('p: ERROR [risk] line 1-0');
  });
});

describe("a pass's own time", () => {
  test('is the wall time of its checks run together, logged on its line', async () => {
    const clock = new ManualClock(T0);
    const slow = (name: string, ms: number) =>
      defineCheck(name, name, 5000, async ({ clock: c }) => {
        await c.sleep(ms);
        return { status: 'pass' };
      });
    const lines: string[] = [];
    const running = monitor({
      checks: [slow('health', 120), slow('smoke', 300)],
      clock,
      durationMs: 0,
      intervalMs: 1000,
      decider: createDecider(RUNBOOK, 1000, true),
      onPass: (pass) => lines.push(passLine(pass, T0)),
    });
    await clock.advance(120);
    await clock.advance(180);
    const outcome = await running;
    expect(outcome.last.tookMs).toBe(300); // together: the slower one, not 420
    expect(lines).toEqual(['pass 1 at +0s: health=pass smoke=pass in 300ms']);
  });
});
