import { describe, expect, test } from '@jest/globals';
import { parseExposition } from '@veloz/shared/prom/text';
import { formatDegrade, parseDegrade } from '../../packages/sandbox/src/engine/index';
import { Behaviour } from '../../packages/sandbox/src/engine/behaviour';
import { EngineMetrics } from '../../packages/sandbox/src/engine/metrics';
import {
  Rng,
  binomial,
  drawInterval,
  logNormalCdf,
  poisson,
  sampleLogNormal,
} from '../../packages/sandbox/src/engine/noise';
import { SyntheticTraffic } from '../../packages/sandbox/src/engine/traffic';

const T0 = 1_700_000_000_000;

/** Runs synthetic traffic for `seconds` in 100 ms ticks; returns requests and 5xx from the exposition. */
function simulate(profile: Record<string, string>, seconds: number, rps = 20): { requests: number; errors: number } {
  const behaviour = new Behaviour(parseDegrade(profile), T0);
  const traffic = new SyntheticTraffic(rps, T0);
  const metrics = new EngineMetrics();
  for (let t = 100; t <= seconds * 1000; t += 100) traffic.run(T0 + t, behaviour, metrics);
  const text = metrics.render({
    cpuSeconds: 0,
    residentBytes: 0,
    startTimeSeconds: 0,
    activeConnections: 0,
    version: 'x',
  });
  let requests = 0;
  let errors = 0;
  for (const s of parseExposition(text).samples) {
    if (s.name !== 'veloz_http_requests_total') continue;
    requests += s.value;
    if (s.labels.code === '500') errors += s.value;
  }
  return { requests, errors };
}

describe('degrade profile: noise keys', () => {
  test('parses noise, seed, rps, median and burst, and renders them back', () => {
    const spec = parseDegrade({
      'error-rate': '6%',
      seed: '42',
      rps: '20',
      median: '30ms',
      p99: '1500ms',
      burst: '10s/1m',
    });
    expect(spec).toMatchObject({
      noise: 'random',
      seed: 42,
      rps: 20,
      medianMs: 30,
      p99Ms: 1500,
      burst: { onMs: 10_000, periodMs: 60_000 },
    });
    expect(formatDegrade(spec)).toBe(
      'after=0s,error-rate=6%,p99=1500ms,noise=random,seed=42,rps=20,median=30ms,burst=10s/1m',
    );
    expect(parseDegrade({ noise: 'none' })).toEqual({ afterMs: 0 });
    expect(parseDegrade({ noise: 'random' }).noise).toBe('random');
  });

  test.each([
    [{ noise: 'loud' }, /noise=loud is not valid; expected noise=random or noise=none/],
    [{ seed: '-1' }, /seed=-1 is not valid; expected a whole number/],
    [{ rps: 'many' }, /rps=many is not valid; expected requests per second/],
    [{ median: '0' }, /median=0 is not valid/],
    [{ burst: '1m/10s' }, /burst=1m\/10s is not valid; expected ON\/PERIOD such as 10s\/1m/],
    [{ median: '2s', p99: '1s' }, /median=2s is not valid; expected a duration below p99=1000ms/],
  ])('refuses %j', (params, message) => expect(() => parseDegrade(params)).toThrow(message));
});

describe('noise=random: seeded Poisson arrivals and binomial errors', () => {
  test('the same seed draws the same requests; another seed does not', () => {
    const a = simulate({ 'error-rate': '6%', seed: '7' }, 60);
    expect(simulate({ 'error-rate': '6%', seed: '7' }, 60)).toEqual(a);
    expect(simulate({ 'error-rate': '6%', seed: '8' }, 60)).not.toEqual(a);
  });

  test('20 rps at 6% over 10 minutes: counts vary like Poisson and binomial around the rates', () => {
    const per30s = Array.from({ length: 20 }, (_, i) => simulate({ 'error-rate': '6%', seed: String(i + 1) }, 30));
    const requests = per30s.map((c) => c.requests);
    const mean = requests.reduce((x, y) => x + y, 0) / requests.length;
    // λ = 600: the mean lands within a few standard errors (√600/√20 ≈ 5.5), and the counts are not all equal
    expect(Math.abs(mean - 600)).toBeLessThan(20);
    expect(new Set(requests).size).toBeGreaterThan(10);
    const share = per30s.reduce((x, c) => x + c.errors, 0) / per30s.reduce((x, c) => x + c.requests, 0);
    expect(Math.abs(share - 0.06)).toBeLessThan(0.01);
  });

  test('noise=none keeps the exact even spread: 6% of 600 is 36 (±1 for where the spread starts)', () => {
    const c = simulate({ 'error-rate': '6%' }, 30);
    expect(c.requests).toBe(600);
    expect(Math.abs(c.errors - 36)).toBeLessThanOrEqual(1);
  });

  test('rps= overrides the engine default', () => {
    expect(simulate({ rps: '2' }, 30, 50).requests).toBe(60);
  });

  test('burst=10s/1m: faults only in the first 10 s of every minute', () => {
    const behaviour = new Behaviour(parseDegrade({ 'error-rate': '50%', burst: '10s/1m' }), T0);
    expect(behaviour.active(T0 + 5_000)).toBeDefined();
    expect(behaviour.active(T0 + 15_000)).toBeUndefined();
    expect(behaviour.active(T0 + 65_000)).toBeDefined();
    const c = simulate({ 'error-rate': '60%', burst: '10s/1m' }, 60);
    // 10 s of 60 at 60%: 120 of 1,200 requests
    expect(Math.abs(c.errors - 120)).toBeLessThanOrEqual(2);
  });
});

describe('draws', () => {
  test('poisson and binomial have the right mean and variance (fixed seed)', () => {
    const rng = new Rng(1);
    const p = Array.from({ length: 4000 }, () => poisson(rng, 12));
    const b = Array.from({ length: 4000 }, () => binomial(rng, 600, 0.06));
    const moments = (xs: number[]) => {
      const m = xs.reduce((x, y) => x + y, 0) / xs.length;
      return [m, xs.reduce((x, y) => x + (y - m) ** 2, 0) / (xs.length - 1)];
    };
    const [pm, pv] = moments(p);
    const [bm, bv] = moments(b);
    expect(pm).toBeCloseTo(12, 0);
    expect(pv).toBeGreaterThan(10.5);
    expect(pv).toBeLessThan(13.5);
    expect(bm).toBeCloseTo(36, 0);
    expect(bv).toBeGreaterThan(30); // 600 · 0.06 · 0.94 = 33.8
    expect(bv).toBeLessThan(38);
    // large means are split into chunks: no underflow, still centred
    expect(Math.abs(poisson(rng, 120_000) - 120_000)).toBeLessThan(2000);
    expect(Math.abs(binomial(rng, 120_000, 0.5) - 60_000)).toBeLessThan(1000);
  });

  test('log-normal latency: the median and p99 land where they were set', () => {
    const rng = new Rng(3);
    const d = { median: 0.05, p99: 1.5 };
    const xs = Array.from({ length: 20_000 }, () => sampleLogNormal(rng, d)).sort((x, y) => x - y);
    expect(xs[10_000]! / 0.05).toBeGreaterThan(0.95);
    expect(xs[10_000]! / 0.05).toBeLessThan(1.05);
    expect(xs[19_800]! / 1.5).toBeGreaterThan(0.85);
    expect(xs[19_800]! / 1.5).toBeLessThan(1.15);
    expect(logNormalCdf(d, 1.5)).toBeCloseTo(0.99, 4);
  });

  test('drawInterval: counts are whole, buckets cumulative and end in +Inf = requests', () => {
    const c = drawInterval(new Rng(9), { rps: 400, seconds: 30, errorRate: 0.06, latency: { median: 0.05, p99: 1.5 } });
    expect(Number.isInteger(c.requests) && Number.isInteger(c.errors)).toBe(true);
    expect(c.buckets.at(-1)).toEqual({ le: Infinity, count: c.requests });
    for (let i = 1; i < c.buckets.length; i++)
      expect(c.buckets[i]!.count).toBeGreaterThanOrEqual(c.buckets[i - 1]!.count);
    const slow = c.requests - c.buckets.find((b) => b.le === 1)!.count;
    // P(latency > 1 s) = 1 − Φ(ln 20 / (ln 30 / 2.326)) ≈ 2.0%
    expect(slow / c.requests).toBeGreaterThan(0.014);
    expect(slow / c.requests).toBeLessThan(0.027);
  });
});
