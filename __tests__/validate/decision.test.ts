import { describe, expect, test } from '@jest/globals';
import { createDecider } from '../../actions/validate/src/decision';
import type { Sample, Traffic } from '../../actions/validate/src/sample';
import type { DecisionSettings } from '../../actions/validate/src/inputs';
import { compareCanary, mannWhitneyU, normalCdf } from '../../actions/validate/src/mann-whitney';

const RUNBOOK: DecisionSettings = {
  consecutiveHealthFailures: 3,
  errorRate: 0.05,
  errorRateForMs: 300_000,
  p99Ms: 1000,
  p99ForMs: 300_000,
  p99BreachAction: 'rollback',
  fastBurn: { errorRate: 0.5, windowMs: 60_000, minRequests: 100 },
};
const INTERVAL = 30_000;
const T0 = Date.parse('2026-02-23T12:00:00Z');

/** 20 rps over a 30 s pass: 600 requests, `errors` of them 5xx, `slow` slower than 1 s. */
function traffic(requests: number, errors: number, slow = 0, spanMs = INTERVAL): Traffic {
  return {
    spanMs,
    requests,
    errors,
    buckets: [
      { le: 0.1, count: requests - slow },
      { le: 1, count: requests - slow },
      { le: 2.5, count: requests },
      { le: Infinity, count: requests },
    ],
  };
}

function sample(i: number, fields: Partial<Sample> = {}): Sample {
  return { at: T0 + i * INTERVAL, healthy: true, traffic: traffic(600, 1), functionalFailures: {}, ...fields };
}

/** Feeds samples and returns the index and result of the first one that meets a criterion. */
function firstMet(samples: Sample[], settings = RUNBOOK) {
  const decider = createDecider(settings, INTERVAL, false);
  for (const [i, s] of samples.entries()) {
    const met = decider.add(s);
    if (met.length > 0) return { index: i, met };
  }
  return undefined;
}

describe('error rate above 5% for 5 minutes, from the requests behind the samples', () => {
  const over = (n: number, errors = 37) =>
    Array.from({ length: n }, (_, i) => sample(i, { traffic: traffic(600, errors) }));

  test('ten 30 s passes of 600 requests with 37 errors each: 370 of 6,000, 99% lower bound 5.5% — rollback on the tenth', () => {
    const result = firstMet(over(12));
    expect(result?.index).toBe(9);
    const met = result!.met[0]!;
    expect(met).toMatchObject({ criterion: 'error-rate', action: 'rollback', metAt: T0 + 9 * INTERVAL });
    // the first pass measured the 30 s before it
    expect(met.since).toBe(T0 - INTERVAL);
    expect(met.evidence).toHaveLength(10);
    expect(met.reason).toBe(
      'Error rate above 5% for 5m: errors 370 of 6,000 requests over the last 5m, 6.2%, 99% lower bound 5.5%; ' +
        'no part of the window clearly at or below 5% (10 samples; runbook §4.1 → rollback).',
    );
  });

  test('one pass short of 5 minutes is not sustained, and the report says the window was too short', () => {
    const decider = createDecider(RUNBOOK, INTERVAL, false);
    for (const s of over(9)) expect(decider.add(s)).toEqual([]);
    const { met, notes } = decider.conclude();
    expect(met).toEqual([]);
    expect(notes[0]).toMatch(/^Error rate above 5% for 5m: the window covers 4m30s, shorter than 5m/);
  });

  test('exactly 5% on 6,000 requests is not above it: 99% bounds 4.4%–5.7% leave it undecided, a warning', () => {
    const decider = createDecider(RUNBOOK, INTERVAL, false);
    for (const s of over(20, 30)) expect(decider.add(s)).toEqual([]);
    const [warn] = decider.conclude().met;
    expect(warn).toMatchObject({ criterion: 'error-rate', action: 'warn' });
    expect(warn!.reason).toBe(
      'Insufficient data: error rate above 5% for 5m: errors 300 of 6,000 requests over the last 5m, 5%; ' +
        'too few requests to tell it from 5% (99% bounds 4.4%–5.7%).',
    );
  });

  test('a healthy window concludes clear: nothing to warn about', () => {
    const decider = createDecider(RUNBOOK, INTERVAL, false);
    for (const s of over(12, 1)) decider.add(s);
    expect(decider.conclude()).toEqual({ met: [], notes: [] });
  });

  test('6% at 2 rps (36 of 600 requests in 5 minutes) cannot be told from 5%: no rollback, insufficient data', () => {
    const decider = createDecider(RUNBOOK, INTERVAL, false);
    for (let i = 0; i < 12; i++)
      expect(decider.add(sample(i, { traffic: traffic(60, i % 5 < 2 ? 3 : 4) }))).toEqual([]);
    const [warn] = decider.conclude().met;
    expect(warn?.reason).toMatch(/^Insufficient data: .*errors 36 of 600 requests over the last 5m, 6%; too few/);
  });

  test('zero traffic is never a silent pass', () => {
    const decider = createDecider(RUNBOOK, INTERVAL, false);
    for (let i = 0; i < 12; i++) decider.add(sample(i, { traffic: traffic(0, 0) }));
    const reasons = decider.conclude().met.map((m) => m.reason);
    expect(reasons).toEqual([
      'Insufficient data: error rate above 5% for 5m: errors 0 of 0 requests over the last 5m; no requests were measured, so the criterion could not be judged.',
      'Insufficient data: p99 latency above 1s for 5m: requests slower than 1s 0 of 0 requests over the last 5m; no requests were measured, so the criterion could not be judged.',
    ]);
  });

  test('one huge burst is not "for 5 minutes": 100% for one minute, then clean', () => {
    const noBurnRule = { ...RUNBOOK, fastBurn: undefined };
    const burst = Array.from({ length: 10 }, (_, i) => sample(i, { traffic: traffic(12_000, i < 2 ? 12_000 : 0) }));
    const decider = createDecider(noBurnRule, INTERVAL, false);
    for (const s of burst) expect(decider.add(s)).toEqual([]);
    const [warn] = decider.conclude().met;
    expect(warn?.reason).toMatch(
      /^Not sustained: error rate above 5% for 5m: errors 24,000 of 120,000 requests over the last 5m, 20%; above 5% over 5m .* but not sustained/,
    );
    // with the fast-burn rule on (the default), the first pass of the burst already decides
    expect(firstMet(burst)).toMatchObject({ index: 0, met: [{ criterion: 'critical-bug', action: 'rollback' }] });
  });

  test('an interval that does not divide D: 70 s passes decide on the fifth (350 s cover 5 minutes, 280 s do not)', () => {
    const at70 = Array.from({ length: 8 }, (_, i) => ({
      ...sample(0),
      at: T0 + i * 70_000,
      traffic: traffic(1400, 90, 0, 70_000),
    }));
    const result = firstMet(at70);
    expect(result?.index).toBe(4);
    expect(result?.met[0]?.reason).toContain('errors 450 of 7,000 requests over the last 5m50s, 6.4%');
  });

  test('a window long enough for D whose counted passes do not cover D is insufficient data, not a pass', () => {
    const decider = createDecider(RUNBOOK, INTERVAL, false);
    const samples = over(12);
    samples[8] = sample(8, { traffic: undefined });
    for (const s of samples) decider.add(s);
    expect(decider.conclude().met.map((m) => m.reason)[0]).toBe(
      'Insufficient data: error rate above 5% for 5m: errors 111 of 1,800 requests over the last 1m30s, 6.2%; ' +
        'the passes with request counts cover only 1m30s (a hole between them ends the window).',
    );
  });

  test('a pass without counts breaks the window (no data is never counted as over)', () => {
    const samples = over(20);
    samples[3] = sample(3, { traffic: undefined });
    expect(firstMet(samples)?.index).toBe(13);
  });

  test('passes that run late chain on the times their counts were read, not on the schedule', () => {
    // pass i is scheduled at i·30s but reads its counters up to 20 s late, alternately: spans of 10 s and 50 s
    const late = Array.from({ length: 12 }, (_, i) => {
      const end = T0 + i * INTERVAL + (i % 2 ? 20_000 : 0);
      const previousEnd = T0 + (i - 1) * INTERVAL + ((i - 1) % 2 ? 20_000 : 0);
      return sample(i, { traffic: { ...traffic(600, 37), end, spanMs: end - previousEnd } });
    });
    expect(firstMet(late)?.met[0]?.criterion).toBe('error-rate');
  });

  test('gaps in sampling do not make a short breach look sustained', () => {
    // two passes 4.5 minutes apart cover 1 minute of requests between them
    const sparse = [sample(0, { traffic: traffic(600, 300) }), sample(9, { traffic: traffic(600, 300) })];
    expect(firstMet(sparse, { ...RUNBOOK, fastBurn: undefined })).toBeUndefined();
  });
});

describe('p99 above 1s for 5 minutes: more than 1% of requests slower than 1s', () => {
  const slow = Array.from({ length: 10 }, (_, i) => sample(i, { traffic: traffic(600, 1, 10) }));

  test('100 of 6,000 slower than 1s (1.7%, 99% lower bound 1.3%) decides rollback by default', () => {
    const met = firstMet(slow)?.met[0];
    expect(met).toMatchObject({ criterion: 'p99-latency', action: 'rollback' });
    expect(met?.reason).toContain(
      'requests slower than 1s 100 of 6,000 requests over the last 5m, 1.7% (the p99 is above the threshold when more than 1% are), 99% lower bound 1.3%',
    );
  });

  test('or only a warning when p99-breach-action is warn', () => {
    expect(firstMet(slow, { ...RUNBOOK, p99BreachAction: 'warn' })?.met[0]).toMatchObject({
      criterion: 'p99-latency',
      action: 'warn',
    });
  });

  test('requests of exactly 1000ms are not slower than 1s', () => {
    // the slow ones sit in the (0.1, 1] bucket: at most 1s
    const atOne = (i: number): Sample =>
      sample(i, {
        traffic: {
          spanMs: INTERVAL,
          requests: 600,
          errors: 0,
          buckets: [
            { le: 0.1, count: 500 },
            { le: 1, count: 600 },
            { le: Infinity, count: 600 },
          ],
        },
      });
    expect(firstMet(Array.from({ length: 12 }, (_, i) => atOne(i)))).toBeUndefined();
  });
});

describe('fast burn: error rate ≥ 50% over 1 minute with ≥ 100 requests is a critical bug at once', () => {
  test('at 2 rps the second pass holds 120 requests, 72 failed: rollback naming the rule', () => {
    const result = firstMet([sample(0, { traffic: traffic(60, 36) }), sample(1, { traffic: traffic(60, 36) })]);
    expect(result?.index).toBe(1);
    expect(result?.met[0]).toMatchObject({ criterion: 'critical-bug', action: 'rollback', since: T0 - INTERVAL });
    expect(result?.met[0]?.reason).toBe(
      'Fast burn (§4.1 critical bug, user-impacting → immediate rollback): errors 72 of 120 requests over the last 1m, 60%; ' +
        'rule fast-burn: error rate ≥ 50% over 1m with ≥ 100 requests.',
    );
  });

  test.each([
    ['exactly 50% of 100', 100, 50, 0],
    ['49% of 100', 100, 49, undefined],
    ['all of 99', 99, 99, undefined],
  ])('boundaries: %s', (_, requests, errors, index) => {
    expect(firstMet([sample(0, { traffic: traffic(requests, errors) })])?.index).toBe(index);
  });

  test('only the last minute counts: an old burst does not add up with new errors', () => {
    const samples = [
      sample(0, { traffic: traffic(100, 100) }),
      sample(1, { traffic: traffic(1000, 0) }),
      sample(2, { traffic: traffic(1000, 0) }),
      sample(3, { traffic: traffic(80, 80) }),
    ];
    expect(firstMet(samples.slice(1))).toBeUndefined();
    expect(firstMet(samples)?.index).toBe(0);
  });

  test('can be switched off or set', () => {
    const burning = [sample(0, { traffic: traffic(600, 400) })];
    expect(firstMet(burning, { ...RUNBOOK, fastBurn: undefined })).toBeUndefined();
    expect(
      firstMet(burning, { ...RUNBOOK, fastBurn: { errorRate: 0.7, windowMs: 60_000, minRequests: 100 } }),
    ).toBeUndefined();
    expect(
      firstMet(burning, { ...RUNBOOK, fastBurn: { errorRate: 0.6, windowMs: 60_000, minRequests: 100 } })?.index,
    ).toBe(0);
  });
});

describe('health checks: more than 3 consecutive failures', () => {
  test('the fourth consecutive failure decides', () => {
    const samples = [sample(0), ...[1, 2, 3, 4, 5].map((i) => sample(i, { healthy: false }))];
    const result = firstMet(samples);
    expect(result?.index).toBe(4);
    expect(result?.met[0]).toMatchObject({ criterion: 'health-check-failures', since: T0 + INTERVAL });
    expect(result?.met[0]?.evidence).toHaveLength(4);
  });

  test('a healthy pass resets the count', () => {
    const pattern = [false, false, false, true, false, false, false, true];
    expect(firstMet(pattern.map((healthy, i) => sample(i, { healthy })))).toBeUndefined();
  });

  test('a single-pass validation decides on its only sample', () => {
    const decider = createDecider(RUNBOOK, INTERVAL, true);
    expect(decider.add(sample(0, { healthy: false }))[0]?.criterion).toBe('health-check-failures');
  });
});

describe('immediate criteria', () => {
  test('any data inconsistency decides at once', () => {
    expect(firstMet([sample(0), sample(1, { consistent: false })])).toMatchObject({
      index: 1,
      met: [{ criterion: 'data-inconsistency', action: 'rollback' }],
    });
  });

  test('a user-impacting functional failure in two passes in a row is a critical bug', () => {
    const failing = { functionalFailures: { order: 'POST /api/order answered 500' } };
    const result = firstMet([sample(0, failing), sample(1), sample(2, failing), sample(3, failing)]);
    expect(result?.index).toBe(3);
    expect(result?.met[0]?.criterion).toBe('critical-bug');
    expect(result?.met[0]?.reason).toContain('order: POST /api/order answered 500');
    expect(result?.met[0]?.evidence).toHaveLength(2);
  });

  test('different checks failing in consecutive passes are two blips; the same one again is the bug', () => {
    const smoke = { smoke: 'GET /api/market answered 500' };
    const order = { order: 'POST /api/order answered 500' };
    expect(
      firstMet([sample(0, { functionalFailures: smoke }), sample(1, { functionalFailures: order })]),
    ).toBeUndefined();
    const result = firstMet([
      sample(0, { functionalFailures: smoke }),
      sample(1, { functionalFailures: { ...smoke, ...order } }),
      sample(2, { functionalFailures: order }),
    ]);
    expect(result?.index).toBe(1);
    expect(result?.met[0]?.reason).toMatch(/smoke: GET \/api\/market answered 500\.$/);
    expect(result?.met[0]?.reason).not.toContain('order:');
  });

  test('a single-pass validation decides on one functional failure, without repeating the check name', () => {
    const decider = createDecider(RUNBOOK, INTERVAL, true);
    const met = decider.add(sample(0, { functionalFailures: { smoke: 'smoke: GET /api/market answered 500' } }));
    expect(met[0]?.reason).toBe(
      'User-impacting failure (runbook §4.1 critical bug → immediate rollback): smoke: GET /api/market answered 500.',
    );
  });

  test('each criterion is reported once', () => {
    const decider = createDecider(RUNBOOK, INTERVAL, false);
    expect(decider.add(sample(0, { consistent: false }))).toHaveLength(1);
    expect(decider.add(sample(1, { consistent: false }))).toHaveLength(0);
  });
});

describe('canary vs baseline (Mann-Whitney U)', () => {
  test('U and z on a small known case', () => {
    expect(mannWhitneyU([1, 3, 5], [2, 4, 6]).u).toBe(3);
    expect(mannWhitneyU([1, 2, 3], [4, 5, 6])).toMatchObject({ u: 0 });
    expect(normalCdf(0)).toBeCloseTo(0.5, 6);
    expect(normalCdf(1.96)).toBeCloseTo(0.975, 3);
  });

  test('a clearly worse canary fails, a similar one passes, too few samples is said', () => {
    const baseline = [10, 11, 12, 10, 11, 12, 10, 11, 12, 11];
    expect(compareCanary([30, 31, 29, 32, 30, 31, 29, 30, 33, 31], baseline).judgement).toBe('fail');
    expect(compareCanary([11, 10, 12, 11, 10, 12, 11, 12, 10, 11], baseline).judgement).toBe('pass');
    expect(compareCanary([9, 8, 9, 8, 9, 8, 9, 8, 9, 8], baseline).judgement).toBe('pass'); // better is fine
    expect(compareCanary([30, 31], baseline)).toMatchObject({ judgement: 'insufficient' });
  });

  test('all ties give no evidence either way', () => {
    const same = Array.from({ length: 10 }, () => 5);
    expect(compareCanary(same, same)).toMatchObject({ judgement: 'pass', z: 0 });
  });
});
