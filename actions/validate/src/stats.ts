/**
 * The statistics behind runbook §4.1's "X above T for D": a rate is a share of requests (errors among
 * requests, or requests slower than the p99 threshold among requests: "p99 above 1s" is "more than 1% of
 * requests slower than 1s"), so both criteria are judged on counts, with binomial confidence bounds.
 */

/** A share of requests: `bad` of `total` (errors, or requests slower than a threshold). */
export interface Counts {
  bad: number;
  total: number;
}

/** The standard normal quantile (Acklam's rational approximation, relative error < 1.2e-9). */
export function normalQuantile(probability: number): number {
  if (!(probability > 0 && probability < 1))
    throw new RangeError(`normalQuantile: p must be in (0, 1), got ${probability}`);
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number): number =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
    ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (probability < 0.02425) return tail(Math.sqrt(-2 * Math.log(probability)));
  if (probability > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - probability)));
  const q = probability - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

/**
 * Wilson score interval of a binomial share, one-sided at `confidence` on each end. Unlike the normal
 * ("Wald") interval it stays inside [0, 1] and is sound at 0 of n and n of n, which is exactly where a
 * quiet canary or a total outage sits. No requests: [0, 1] — nothing is known.
 */
export function wilsonBounds(counts: Counts, confidence: number): { lower: number; upper: number } {
  if (counts.total <= 0) return { lower: 0, upper: 1 };
  const z = normalQuantile(confidence);
  const n = counts.total;
  const p = Math.min(1, Math.max(0, counts.bad / n));
  const z2 = z * z;
  const centre = p + z2 / (2 * n);
  const spread = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  const denominator = 1 + z2 / n;
  return {
    lower: Math.max(0, (centre - spread) / denominator),
    upper: Math.min(1, (centre + spread) / denominator),
  };
}

/** One bucket of a cumulative histogram: observations at or below `le` seconds. */
export interface CumulativeBucket {
  le: number;
  count: number;
}

/**
 * Observations slower than `thresholdSeconds` from cumulative buckets. On a bucket boundary (1 s is one
 * of the default buckets) this is exact; between boundaries it interpolates linearly inside the bucket,
 * the assumption `histogram_quantile` makes, so it agrees with the p99 Prometheus would report.
 */
export function slowerThan(buckets: readonly CumulativeBucket[], thresholdSeconds: number): Counts {
  const sorted = [...buckets].sort((x, y) => x.le - y.le);
  const total = sorted.find((b) => b.le === Infinity)?.count ?? sorted.at(-1)?.count ?? 0;
  let below = 0;
  let previous = { le: 0, count: 0 };
  for (const b of sorted) {
    if (thresholdSeconds >= b.le) {
      below = b.count;
    } else {
      if (Number.isFinite(b.le)) {
        const share = (thresholdSeconds - previous.le) / (b.le - previous.le);
        below = previous.count + share * (b.count - previous.count);
      }
      break;
    }
    previous = b;
  }
  return { bad: Math.max(0, Math.round(total - below)), total };
}

/** Sum of counts. */
export function pool(counts: readonly Counts[]): Counts {
  return counts.reduce((sum, c) => ({ bad: sum.bad + c.bad, total: sum.total + c.total }), { bad: 0, total: 0 });
}
