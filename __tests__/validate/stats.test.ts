import { describe, expect, test } from '@jest/globals';
import { normalQuantile, pool, slowerThan, wilsonBounds } from '../../actions/validate/src/stats';
import { percent } from '../../actions/validate/src/sustained';

describe('normal quantile', () => {
  test.each([
    [0.5, 0],
    [0.95, 1.6448536],
    [0.99, 2.3263479],
    [0.975, 1.959964],
    [0.01, -2.3263479],
  ])('Φ⁻¹(%s) = %s', (p, z) => expect(normalQuantile(p)).toBeCloseTo(z, 6));

  test('refuses 0 and 1', () => {
    expect(() => normalQuantile(1)).toThrow(RangeError);
    expect(() => normalQuantile(0)).toThrow(RangeError);
  });
});

describe('Wilson score bounds (one-sided 95%)', () => {
  // By hand: p = 312/5000 = 0.0624, z = 1.6449, z² = 2.7055;
  // centre = p + z²/2n = 0.062671, spread = z·√(p(1−p)/n + z²/4n²) = 0.005633, ÷ (1 + z²/n) = 1.000541
  test('312 of 5,000: 6.2%, lower bound 5.70%, upper 6.83%', () => {
    const { lower, upper } = wilsonBounds({ bad: 312, total: 5000 }, 0.95);
    expect(lower).toBeCloseTo(0.05701, 4);
    expect(upper).toBeCloseTo(0.06827, 4);
  });

  // By hand at 99% (z = 2.3263, z² = 5.4119): p = 370/6000 = 0.061667; centre = p + z²/2n = 0.062118,
  // spread = z·√(p(1−p)/n + z²/4n²) = 0.007238, ÷ (1 + z²/n) = 1.000902 → 0.05483
  test('370 of 6,000 at 99%: lower bound 5.48% (what decides "above 5%")', () => {
    expect(wilsonBounds({ bad: 370, total: 6000 }, 0.99).lower).toBeCloseTo(0.05483, 4);
  });

  test('0 of 300: the lower bound is 0 and the upper is z²/(n+z²) = 0.89% (the "rule of three")', () => {
    const { lower, upper } = wilsonBounds({ bad: 0, total: 300 }, 0.95);
    expect(lower).toBe(0);
    expect(upper).toBeCloseTo(2.7055 / 302.7055, 5);
  });

  test('5 of 5 (a total outage on a quiet pod): the upper bound is 1, the lower 64.9%', () => {
    const { lower, upper } = wilsonBounds({ bad: 5, total: 5 }, 0.95);
    expect(upper).toBeCloseTo(1, 10);
    expect(lower).toBeCloseTo(5 / 7.7055, 4);
  });

  test('no requests: nothing is known, [0, 1]', () => {
    expect(wilsonBounds({ bad: 0, total: 0 }, 0.95)).toEqual({ lower: 0, upper: 1 });
  });

  test('more requests narrow the bounds around the same share', () => {
    const small = wilsonBounds({ bad: 6, total: 100 }, 0.95);
    const large = wilsonBounds({ bad: 600, total: 10_000 }, 0.95);
    expect(large.lower).toBeGreaterThan(small.lower);
    expect(large.upper).toBeLessThan(small.upper);
  });
});

describe('requests slower than a threshold, from cumulative buckets', () => {
  const buckets = [
    { le: 0.5, count: 900 },
    { le: 1, count: 980 },
    { le: 2.5, count: 1000 },
    { le: Infinity, count: 1000 },
  ];

  test('on a bucket boundary it is exact: 20 of 1,000 slower than 1 s', () => {
    expect(slowerThan(buckets, 1)).toEqual({ bad: 20, total: 1000 });
  });

  test('between boundaries it interpolates like histogram_quantile: 1.75 s is halfway through (1, 2.5]', () => {
    expect(slowerThan(buckets, 1.75)).toEqual({ bad: 10, total: 1000 });
  });

  test('beyond the largest finite bucket nothing is counted slower; below the first everything is', () => {
    expect(slowerThan(buckets, 5)).toEqual({ bad: 0, total: 1000 });
    expect(slowerThan(buckets, 0)).toEqual({ bad: 1000, total: 1000 });
  });

  test('no observations', () => {
    expect(slowerThan([{ le: Infinity, count: 0 }], 1)).toEqual({ bad: 0, total: 0 });
  });
});

test('pool adds counts', () => {
  expect(
    pool([
      { bad: 1, total: 10 },
      { bad: 2, total: 30 },
    ]),
  ).toEqual({ bad: 3, total: 40 });
});

test.each([
  [0.062, '6.2%'],
  [0.05, '5%'],
  [0.2, '20%'],
  [0, '0%'],
  [0.00045, '0.045%'],
])('percent(%s) = %s', (fraction, text) => expect(percent(fraction)).toBe(text));
