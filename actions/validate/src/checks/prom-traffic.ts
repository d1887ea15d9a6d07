/**
 * The requests behind a pass, from Prometheus: the request counter and the latency histogram's buckets
 * read as raw cumulative sums each pass, and differenced between passes like two scrapes. Exact whole
 * counts, spans that never overlap (a `increase(…[interval])` would extrapolate and, with a scrape
 * interval near the pass interval, see nothing), and a counter that went down (a restart) makes that
 * one pass unknown rather than wrong.
 */
import type { HttpEndpoint } from '@veloz/shared/http/endpoint';
import { instantQuery } from '@veloz/shared/prom/client';
import { parseValue } from '@veloz/shared/prom/text';
import type { Traffic } from '../sample';
import type { CumulativeBucket } from '../stats';
import { applySelector } from './promql';

export interface TrafficMetrics {
  /** Counter of requests by status code, e.g. `veloz_http_requests_total`. */
  requestsMetric: string;
  /** Latency histogram in seconds, e.g. `veloz_http_request_duration_seconds`. */
  durationMetric: string;
}

interface Totals {
  at: number;
  requests: number;
  errors: number;
  buckets: CumulativeBucket[];
}

interface TrafficReader {
  /** Counts since the previous call; undefined on the first call or after a counter reset. */
  read(opts: { now: number; timeoutMs: number; signal: AbortSignal }): Promise<Traffic | undefined>;
}

export function promTraffic(prom: HttpEndpoint, metrics: TrafficMetrics, selector: string): TrafficReader {
  const q = (text: string): string => applySelector(text, selector);
  const queries = {
    requests: q(`sum(${metrics.requestsMetric}{$selector})`),
    errors: q(`sum(${metrics.requestsMetric}{code=~"5..",$selector})`),
    buckets: q(`sum by (le) (${metrics.durationMetric}_bucket{$selector})`),
  };
  let previous: Totals | undefined;
  return {
    async read({ now, timeoutMs, signal }) {
      const opts = { timeoutMs, signal };
      const [requests, errors, buckets] = await Promise.all([
        instantQuery(prom, queries.requests, opts),
        instantQuery(prom, queries.errors, opts),
        instantQuery(prom, queries.buckets, opts),
      ]);
      const current: Totals = {
        at: now,
        requests: requests[0]?.value ?? 0,
        // No 5xx series at all is zero errors, as long as requests were counted.
        errors: errors[0]?.value ?? 0,
        buckets: buckets
          .map((b) => ({ le: parseValue(b.metric.le ?? '') ?? Number.NaN, count: b.value }))
          .filter((b) => !Number.isNaN(b.le))
          .sort((a, b) => a.le - b.le),
      };
      const before = previous;
      previous = requests.length > 0 ? current : undefined;
      if (!before || requests.length === 0) return undefined;
      return difference(before, current);
    },
  };
}

function difference(before: Totals, now: Totals): Traffic | undefined {
  const requests = Math.round(now.requests - before.requests);
  const errors = Math.round(now.errors - before.errors);
  if (requests < 0 || errors < 0 || errors > requests) return undefined;
  const was = new Map(before.buckets.map((b) => [b.le, b.count]));
  const buckets = now.buckets.map((b) => ({ le: b.le, count: Math.round(b.count - (was.get(b.le) ?? 0)) }));
  const usable = buckets.length > 1 && buckets.every((b) => b.count >= 0);
  return { end: now.at, spanMs: now.at - before.at, requests, errors, buckets: usable ? buckets : undefined };
}
