/**
 * Kayenta-style canary judgement: is the canary's metric stochastically greater (worse) than the
 * baseline's? Mann-Whitney U with tie correction and the normal approximation, one-sided.
 */
export type Judgement = 'pass' | 'marginal' | 'fail' | 'insufficient';

export interface ComparisonResult {
  judgement: Judgement;
  u: number;
  z: number;
  /** One-sided p-value for "canary > baseline". */
  p: number;
  canaryMedian: number;
  baselineMedian: number;
  detail: string;
}

interface ComparisonOptions {
  minSamples?: number;
  /** p below this fails. */
  failP?: number;
  /** p below this (and above failP) is marginal. */
  marginalP?: number;
}

export function compareCanary(canary: number[], baseline: number[], options: ComparisonOptions = {}): ComparisonResult {
  const { minSamples = 8, failP = 0.01, marginalP = 0.05 } = options;
  const canaryMedian = median(canary);
  const baselineMedian = median(baseline);
  if (canary.length < minSamples || baseline.length < minSamples) {
    return {
      judgement: 'insufficient',
      u: NaN,
      z: NaN,
      p: NaN,
      canaryMedian,
      baselineMedian,
      detail: `needs at least ${minSamples} samples each (canary ${canary.length}, baseline ${baseline.length})`,
    };
  }
  const { u, z } = mannWhitneyU(canary, baseline);
  const p = 1 - normalCdf(z);
  const judgement: Judgement = p < failP ? 'fail' : p < marginalP ? 'marginal' : 'pass';
  return {
    judgement,
    u,
    z,
    p,
    canaryMedian,
    baselineMedian,
    detail: `U=${u.toFixed(1)}, z=${z.toFixed(2)}, p=${p.toFixed(4)} (canary median ${round(canaryMedian)}, baseline median ${round(baselineMedian)})`,
  };
}

/** U of the first sample, and its z-score (positive when the first sample tends to be larger). */
export function mannWhitneyU(first: number[], second: number[]): { u: number; z: number } {
  const all = [...first.map((v) => ({ v, g: 0 })), ...second.map((v) => ({ v, g: 1 }))].sort((x, y) => x.v - y.v);
  const ranks = new Array<number>(all.length);
  let tieTerm = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j + 1 < all.length && all[j + 1]!.v === all[i]!.v) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[k] = rank;
    const t = j - i + 1;
    tieTerm += t ** 3 - t;
    i = j + 1;
  }
  const n1 = first.length;
  const n2 = second.length;
  const rankSumA = all.reduce((sum, item, i) => (item.g === 0 ? sum + ranks[i]! : sum), 0);
  const u = rankSumA - (n1 * (n1 + 1)) / 2;
  const n = n1 + n2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  const z = variance > 0 ? (u - mean) / Math.sqrt(variance) : 0;
  return { u, z };
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 erf approximation, |error| < 1.5e-7). */
export function normalCdf(zScore: number): number {
  const x = Math.abs(zScore) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return zScore >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function round(v: number): string {
  return String(Number(v.toPrecision(4)));
}
