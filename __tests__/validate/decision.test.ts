import { describe, expect, test } from '@jest/globals';
import { createDecider, type Sample } from '../../actions/validate/src/decision';
import type { DecisionSettings } from '../../actions/validate/src/inputs';
import { compareCanary, mannWhitneyU, normalCdf } from '../../actions/validate/src/mann-whitney';

const RUNBOOK: DecisionSettings = {
  consecutiveHealthFailures: 3,
  errorRate: 0.05,
  errorRateForMs: 300_000,
  p99Ms: 1000,
  p99ForMs: 300_000,
  p99BreachAction: 'rollback',
};
const INTERVAL = 30_000;
const T0 = Date.parse('2026-02-23T12:00:00Z');

function sample(i: number, fields: Partial<Sample> = {}): Sample {
  return { at: T0 + i * INTERVAL, healthy: true, errorRate: 0.001, p99Ms: 80, functionalFailures: {}, ...fields };
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

describe('error rate above 5% for 5 minutes', () => {
  const over = (n: number, rate = 0.061) => Array.from({ length: n }, (_, i) => sample(i, { errorRate: rate }));

  test('ten samples over the threshold cover 5 minutes at a 30s interval: rollback on the tenth', () => {
    const result = firstMet(over(12));
    expect(result?.index).toBe(9);
    const met = result!.met[0]!;
    expect(met).toMatchObject({ criterion: 'error-rate', action: 'rollback', metAt: T0 + 9 * INTERVAL, since: T0 });
    expect(met.evidence).toHaveLength(10);
    expect(met.reason).toBe('Error rate above 5% for 5m (10 samples, 6.1%–6.1%; runbook §4.1 → rollback).');
  });

  test('one sample short is not sustained', () => {
    expect(firstMet(over(9))).toBeUndefined();
  });

  test('exactly at the threshold is not above it', () => {
    expect(firstMet(over(20, 0.05))).toBeUndefined();
  });

  test('a single good sample in the middle restarts the clock', () => {
    const samples = over(20);
    samples[5] = sample(5, { errorRate: 0.01 });
    // the window must slide past index 5: samples 6..15 are the first ten clean over-threshold ones
    expect(firstMet(samples)?.index).toBe(15);
  });

  test('a sample without data breaks the run (no data is never counted as over)', () => {
    const samples = over(20);
    samples[3] = sample(3, { errorRate: undefined });
    expect(firstMet(samples)?.index).toBe(13);
  });

  test('gaps in sampling do not make a short breach look sustained', () => {
    // two samples 4.5 minutes apart cover the time but are far fewer than D / interval
    const sparse = [sample(0, { errorRate: 0.2 }), sample(9, { errorRate: 0.2 })];
    expect(firstMet(sparse)).toBeUndefined();
  });
});

describe('p99 above 1s for 5 minutes', () => {
  const slow = Array.from({ length: 10 }, (_, i) => sample(i, { p99Ms: 1200 }));

  test('decides rollback by default', () => {
    expect(firstMet(slow)?.met[0]).toMatchObject({ criterion: 'p99-latency', action: 'rollback' });
  });

  test('or only a warning when p99-breach-action is warn', () => {
    expect(firstMet(slow, { ...RUNBOOK, p99BreachAction: 'warn' })?.met[0]).toMatchObject({
      criterion: 'p99-latency',
      action: 'warn',
    });
  });

  test('1000ms is not above 1s', () => {
    expect(firstMet(Array.from({ length: 12 }, (_, i) => sample(i, { p99Ms: 1000 })))).toBeUndefined();
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
