/**
 * Latency model of the engine's API. The distribution is piecewise uniform between histogram bucket
 * boundaries, which is exactly what `histogram_quantile` assumes when it interpolates: so the p99 Prometheus
 * computes from the buckets equals the p99 of the distribution, and both equal a profile's `p99=`.
 */

/** Histogram buckets in seconds (Prometheus client defaults: they include 0.1, 0.5, 1 and 2.5). */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/** A cumulative distribution given by knots (seconds, probability); linear between knots. */
export interface LatencyDistribution {
  readonly xs: readonly number[];
  readonly ps: readonly number[];
}

/** A healthy engine: median ~7 ms, p99 ~47 ms (the runbook expects p99 < 100 ms). */
export const HEALTHY_LATENCY: LatencyDistribution = {
  xs: [0, 0.005, 0.01, 0.025, 0.05, 0.1],
  ps: [0, 0.3, 0.7, 0.95, 0.995, 1],
};

const QUANTILE = 0.99;
/** Probability mass placed inside the bucket holding the target p99. */
const TAIL_MASS = 0.01;

function cdfAt(d: LatencyDistribution, x: number): number {
  for (let i = 1; i < d.xs.length; i++) {
    const x1 = d.xs[i] as number;
    if (x <= x1) {
      const x0 = d.xs[i - 1] as number;
      const p0 = d.ps[i - 1] as number;
      return p0 + ((x - x0) / (x1 - x0)) * ((d.ps[i] as number) - p0);
    }
  }
  return 1;
}

/**
 * The healthy shape squeezed below the bucket that holds `p99Seconds`, 1% of mass inside that bucket placed so
 * linear interpolation lands exactly on the target, and what is left in the next bucket up.
 */
export function latencyForP99(p99Seconds: number): LatencyDistribution {
  const hiIndex = LATENCY_BUCKETS.findIndex((b) => p99Seconds <= b);
  if (hiIndex < 1) throw new Error(`p99 ${p99Seconds}s is outside the histogram's buckets`);
  const lo = LATENCY_BUCKETS[hiIndex - 1] as number;
  const hi = LATENCY_BUCKETS[hiIndex] as number;
  const t = (p99Seconds - lo) / (hi - lo);
  const pLo = QUANTILE - TAIL_MASS * t;
  const pHi = QUANTILE + TAIL_MASS * (1 - t);

  const scale = pLo / cdfAt(HEALTHY_LATENCY, lo);
  const xs: number[] = [];
  const ps: number[] = [];
  HEALTHY_LATENCY.xs.forEach((x, i) => {
    if (x < lo) {
      xs.push(x);
      ps.push((HEALTHY_LATENCY.ps[i] as number) * scale);
    }
  });
  xs.push(lo, hi);
  ps.push(pLo, pHi);
  if (pHi < 1) {
    xs.push(LATENCY_BUCKETS[hiIndex + 1] ?? hi * 1.5);
    ps.push(1);
  }
  return { xs, ps };
}

/** Inverse CDF: maps a uniform u in [0,1) to a latency in seconds. */
export function sampleLatency(d: LatencyDistribution, u: number): number {
  for (let i = 1; i < d.ps.length; i++) {
    const p1 = d.ps[i] as number;
    if (u < p1 || i === d.ps.length - 1) {
      const p0 = d.ps[i - 1] as number;
      const x0 = d.xs[i - 1] as number;
      const x1 = d.xs[i] as number;
      return p1 === p0 ? x1 : x0 + ((u - p0) / (p1 - p0)) * (x1 - x0);
    }
  }
  return d.xs[d.xs.length - 1] as number;
}

const GOLDEN = 0.6180339887498949;

/**
 * Low-discrepancy uniforms (golden-ratio sequence): any run of consecutive draws covers [0,1) evenly, so a
 * one-minute window of ~1200 synthetic requests already reproduces the tail instead of a noisy 12 samples.
 */
export class EvenUniforms {
  private u: number;
  constructor(seed = Math.random()) {
    this.u = seed;
  }
  next(): number {
    this.u = (this.u + GOLDEN) % 1;
    return this.u;
  }
}

/**
 * Draws latencies whose count per segment (per histogram bucket) tracks the distribution to within a draw or
 * two over any window: the segment is chosen by error diffusion across segments (smooth weighted round-robin),
 * the position inside it by an even uniform. `histogram_quantile` only sees bucket counts, so a p99 computed
 * over a one-minute window lands on the target instead of wandering with a few tail samples.
 */
export class LatencySampler {
  private distribution: LatencyDistribution | undefined;
  private credit: number[] = [];
  private readonly within = new EvenUniforms();

  next(d: LatencyDistribution): number {
    if (d !== this.distribution) {
      this.distribution = d;
      this.credit = d.ps.map(() => Math.random() * 0.01);
    }
    let best = 1;
    for (let k = 1; k < d.ps.length; k++) {
      this.credit[k] = (this.credit[k] as number) + (d.ps[k] as number) - (d.ps[k - 1] as number);
      if ((this.credit[k] as number) > (this.credit[best] as number)) best = k;
    }
    this.credit[best] = (this.credit[best] as number) - 1;
    const x0 = d.xs[best - 1] as number;
    return x0 + this.within.next() * ((d.xs[best] as number) - x0);
  }
}

/**
 * Hits a rate exactly over any window (error diffusion): each draw adds the rate; a whole unit is a hit.
 * The random start spreads hits of different engines apart.
 */
export class EvenHits {
  private debt = Math.random();
  hit(rate: number): boolean {
    this.debt += rate;
    if (this.debt >= 1) {
      this.debt -= 1;
      return true;
    }
    return false;
  }
}
