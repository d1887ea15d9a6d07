import { describe, expect, test } from '@jest/globals';
import { formatDegrade, LATENCY_BUCKETS, parseDegrade } from '../../packages/sandbox/src/engine/index';
import {
  EvenHits,
  EvenUniforms,
  HEALTHY_LATENCY,
  LatencySampler,
  latencyForP99,
  sampleLatency,
} from '../../packages/sandbox/src/engine/latency';

describe('parseDegrade', () => {
  test('reads every key of the profile syntax', () => {
    const spec = parseDegrade({
      after: '20s',
      health: 'fail',
      ready: 'fail',
      'error-rate': '6%',
      p99: '1200ms',
      sse: 'silent',
      ws: 'refuse',
      orders: 'reject',
      'log-errors': '5/s',
      memory: '+10MiB/s',
    });
    expect(spec).toEqual({
      afterMs: 20_000,
      health: 'fail',
      ready: 'fail',
      errorRate: 0.06,
      p99Ms: 1200,
      sse: 'silent',
      ws: 'refuse',
      orders: 'reject',
      logErrorsPerSecond: 5,
      memoryBytesPerSecond: 10 * 1024 * 1024,
    });
    expect(Object.isFrozen(spec)).toBe(true);
  });

  test('defaults after to 0 and accepts alternative spellings', () => {
    expect(parseDegrade({})).toEqual({ afterMs: 0 });
    expect(
      parseDegrade({ after: '1m30s', p99: '1.2s', 'error-rate': '0.5', 'log-errors': '30/m', memory: '2MB/m' }),
    ).toEqual({
      afterMs: 90_000,
      p99Ms: 1200,
      errorRate: 0.5,
      logErrorsPerSecond: 0.5,
      memoryBytesPerSecond: 2e6 / 60,
    });
    expect(parseDegrade({ orders: 'error' }).orders).toBe('error');
    // `ok` switches a fault off explicitly (handy when flipping a running pod back).
    expect(parseDegrade({ health: 'ok', sse: 'ok' })).toEqual({ afterMs: 0 });
    expect(parseDegrade({ after: '0' }).afterMs).toBe(0);
  });

  test.each([
    [{ colour: 'red' }, /unknown key "colour".*expected one of after, health/],
    [{ after: 'soon' }, /after=soon is not valid; expected a duration/],
    [{ after: '-5s' }, /after=-5s is not valid/],
    [{ health: 'broken' }, /health=broken is not valid; expected health=fail/],
    [{ ready: 'no' }, /ready=no is not valid; expected ready=fail/],
    [{ 'error-rate': '6' }, /error-rate=6 is not valid; expected a percentage/],
    [{ 'error-rate': '150%' }, /error-rate=150% is not valid/],
    [{ 'error-rate': 'lots' }, /error-rate=lots/],
    [{ p99: '1200' }, /p99=1200 is not valid; expected a duration above 5ms and at most 10s/],
    [{ p99: '30s' }, /p99=30s is not valid/],
    [{ p99: '2ms' }, /p99=2ms is not valid/],
    [{ sse: 'loud' }, /sse=loud is not valid; expected sse=silent/],
    [{ ws: 'maybe' }, /ws=maybe is not valid; expected ws=refuse/],
    [{ orders: 'drop' }, /orders=drop is not valid; expected orders=reject or orders=error/],
    [{ 'log-errors': '5' }, /log-errors=5 is not valid; expected a rate such as 5\/s/],
    [{ 'log-errors': '5000/s' }, /log-errors=5000\/s is not valid/],
    [{ memory: '+10MiB' }, /memory=\+10MiB is not valid; expected a growth rate such as \+10MiB\/s/],
    [{ memory: '+10XB/s' }, /memory=\+10XB\/s is not valid/],
    [{ memory: '-1MiB/s' }, /memory=-1MiB\/s is not valid/],
  ])('rejects %j with a message naming the key and what is expected', (params, message) => {
    expect(() => parseDegrade(params as Record<string, string>)).toThrow(message);
  });

  test('formatDegrade writes the profile syntax back, and it parses to the same spec', () => {
    const text =
      'after=20s,health=fail,error-rate=6%,p99=1200ms,sse=silent,ws=refuse,orders=reject,log-errors=5/s,memory=+10MiB/s';
    const params = Object.fromEntries(text.split(',').map((kv) => kv.split('=') as [string, string]));
    const spec = parseDegrade(params);
    expect(formatDegrade(spec)).toBe(text);
  });
});

/**
 * histogram_quantile's estimate: linear interpolation inside the bucket where the rank falls, or the highest
 * finite bound when it falls in +Inf.
 */
function histogramQuantile(q: number, samples: number[]): number {
  const bounds = [...LATENCY_BUCKETS, Infinity];
  const cumulative = bounds.map((b) => samples.filter((s) => s <= b).length);
  const rank = q * samples.length;
  const i = cumulative.findIndex((c) => c >= rank);
  if (i === bounds.length - 1) return bounds[i - 1] as number;
  const lower = i === 0 ? 0 : (bounds[i - 1] as number);
  const below = i === 0 ? 0 : (cumulative[i - 1] as number);
  return lower + ((bounds[i] as number) - lower) * ((rank - below) / ((cumulative[i] as number) - below));
}

function cdfAt(d: ReturnType<typeof latencyForP99>, x: number): number {
  const i = d.xs.findIndex((k) => k >= x);
  return d.ps[i] as number;
}

function draw(d: ReturnType<typeof latencyForP99>, n: number): number[] {
  const u = new EvenUniforms(0.123);
  return Array.from({ length: n }, () => sampleLatency(d, u.next()));
}

describe('latency model', () => {
  test('a healthy engine has p99 under the runbook’s 100 ms', () => {
    const p99 = histogramQuantile(0.99, draw(HEALTHY_LATENCY, 5000));
    expect(p99).toBeGreaterThan(0.03);
    expect(p99).toBeLessThan(0.1);
  });

  test.each([0.02, 0.07, 0.3, 0.6, 1, 1.2, 2, 4, 9.5, 10])(
    'p99=%ss: both the true quantile and the bucket interpolation land on the target',
    (target) => {
      const samples = draw(latencyForP99(target), 10_000);
      expect(histogramQuantile(0.99, samples)).toBeCloseTo(target, 1);
      expect(Math.abs(histogramQuantile(0.99, samples) - target) / target).toBeLessThan(0.05);
      const sorted = samples.slice().sort((a, b) => a - b);
      const trueP99 = sorted[Math.floor(0.99 * sorted.length)] as number;
      expect(Math.abs(trueP99 - target) / target).toBeLessThan(0.05);
    },
  );

  test('the engine’s sampler gets bucket counts right over any window, so a short window’s p99 is on target', () => {
    const d = latencyForP99(1.2);
    const sampler = new LatencySampler();
    const all = Array.from({ length: 20_000 }, () => sampler.next(d));
    for (const [start, n] of [
      [0, 3000],
      [1234, 3000],
      [7777, 1200],
      [15_000, 5000],
    ] as const) {
      const window = all.slice(start, start + n);
      // Mass above 1 s is 1.13% of the distribution (1% up to 2.5 s, the rest beyond): within two draws.
      expect(Math.abs(window.filter((x) => x > 1).length - (1 - cdfAt(d, 1)) * n)).toBeLessThanOrEqual(2);
      expect(Math.abs(histogramQuantile(0.99, window) - 1.2)).toBeLessThan(n >= 3000 ? 0.06 : 0.15);
    }
  });

  test('error diffusion hits the rate exactly over any window', () => {
    const hits = new EvenHits();
    let n = 0;
    for (let i = 0; i < 1000; i++) if (hits.hit(0.06)) n++;
    expect(Math.abs(n - 60)).toBeLessThanOrEqual(1);
    const always = new EvenHits();
    expect(Array.from({ length: 10 }, () => always.hit(1)).every(Boolean)).toBe(true);
  });
});
