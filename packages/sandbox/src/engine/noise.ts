/**
 * Seeded randomness for the engine double's `noise=random` profiles, and for the bench that simulates
 * thousands of monitoring windows through the same draws: Poisson arrivals, binomial errors, and a
 * log-normal latency with a settable median and p99. Reproducible from a seed; never `Math.random`.
 */
import { LATENCY_BUCKETS } from './latency';

/** A small, fast, seedable generator (mulberry32): uniforms in [0, 1). */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
}

/** Largest mean drawn by inversion in one go: e^-500 is still a normal double. */
const INVERSION_LIMIT = 500;

/** Poisson(λ) by inversion, split into chunks so e^-λ never underflows (a sum of Poissons is Poisson). */
export function poisson(rng: Rng, lambda: number): number {
  let total = 0;
  for (let left = lambda; left > 0; left -= INVERSION_LIMIT) {
    const l = Math.min(left, INVERSION_LIMIT);
    let k = 0;
    let p = Math.exp(-l);
    let cdf = p;
    const u = rng.next();
    while (u > cdf && k < 10 * l + 100) {
      k += 1;
      p *= l / k;
      cdf += p;
    }
    total += k;
  }
  return total;
}

/** Binomial(n, p) by inversion on the smaller tail, in chunks small enough that q^n stays representable. */
export function binomial(rng: Rng, n: number, p: number): number {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  if (p > 0.5) return n - binomial(rng, n, 1 - p);
  const chunk = Math.max(1, Math.floor(INVERSION_LIMIT / -Math.log1p(-p)));
  let total = 0;
  for (let left = n; left > 0; left -= chunk) {
    const m = Math.min(left, chunk);
    const ratio = p / (1 - p);
    let k = 0;
    let pk = Math.pow(1 - p, m);
    let cdf = pk;
    const u = rng.next();
    while (u > cdf && k < m) {
      pk *= (ratio * (m - k)) / (k + 1);
      k += 1;
      cdf += pk;
    }
    total += k;
  }
  return total;
}

/** A log-normal latency given its median and p99 (seconds): σ = ln(p99 / median) / z₀.₉₉. */
export interface LogNormal {
  median: number;
  p99: number;
}

const Z99 = 2.3263478740408408;

export function logNormalSigma(d: LogNormal): number {
  return Math.max(1e-9, Math.log(d.p99 / d.median) / Z99);
}

export function sampleLogNormal(rng: Rng, d: LogNormal): number {
  return d.median * Math.exp(logNormalSigma(d) * rng.normal());
}

/** P(latency ≤ x) of a log-normal. */
export function logNormalCdf(d: LogNormal, x: number): number {
  if (x <= 0) return 0;
  return normalCdf(Math.log(x / d.median) / logNormalSigma(d));
}

/** Φ(x), Abramowitz–Stegun 7.1.26 through erf (|error| < 1.5e-7). */
export function normalCdf(x: number): number {
  const t = 1 / (1 + (0.3275911 * Math.abs(x)) / Math.SQRT2);
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-(x * x) / 2);
  return x >= 0 ? 0.5 * (1 + y) : 0.5 * (1 - y);
}

/** What an interval of traffic amounts to, as the engine's counters and histogram would show it. */
export interface IntervalCounts {
  requests: number;
  errors: number;
  /** Cumulative by `le` in seconds, the engine's buckets and +Inf. */
  buckets: { le: number; count: number }[];
}

/**
 * One interval of traffic drawn at once (for simulations too long to draw request by request): Poisson
 * arrivals at `rps`, binomial errors at `errorRate`, latencies spread over the buckets multinomially.
 */
export function drawInterval(
  rng: Rng,
  o: { rps: number; seconds: number; errorRate: number; latency: LogNormal },
): IntervalCounts {
  const requests = poisson(rng, o.rps * o.seconds);
  const errors = binomial(rng, requests, o.errorRate);
  const buckets: { le: number; count: number }[] = [];
  let left = requests;
  let cumulative = 0;
  let below = 0;
  for (const le of LATENCY_BUCKETS) {
    const p = logNormalCdf(o.latency, le);
    const share = below >= 1 ? 0 : (p - below) / (1 - below);
    const inBucket = binomial(rng, left, Math.min(1, Math.max(0, share)));
    left -= inBucket;
    cumulative += inBucket;
    below = p;
    buckets.push({ le, count: cumulative });
  }
  buckets.push({ le: Infinity, count: requests });
  return { requests, errors, buckets };
}
