/**
 * Runbook §3.1 `curl -s …/metrics | grep veloz_`: the endpoint answers Prometheus text with series named
 * by the prefix. With a holder kept across the monitoring window's passes, each pass after the first also
 * measures what happened since the previous scrape — error rate and p99 from the engine's own counters —
 * so the §4.1 error-rate and latency criteria have data even without a Prometheus.
 */
import { type Check, type CheckOutcome, type CheckStatus, defineCheck } from '@veloz/shared/checks';
import { httpRequest, type HttpEndpoint, type HttpResponse } from '@veloz/shared/http/endpoint';
import { formatDuration, formatPercentage } from '@veloz/shared/parse';
import {
  ExpositionError,
  parseExposition,
  rateBetween,
  type RateOptions,
  type RateWindow,
  type Scrape,
} from '@veloz/shared/prom/text';
import {
  RUNBOOK_SLO,
  ioTimeout,
  isOk,
  judge,
  secretsOf,
  statusLine,
  unreachable,
  worst,
} from '@veloz/shared/endpoint-checks/common';

/** Carries the previous scrape from one pass to the next; create one per target for the whole window. */
export interface ScrapeHolder {
  /** Scrapes of the last `rateWindowMs`, oldest first. */
  history?: Scrape[];
}

interface MetricsThresholds {
  expected: { errorRate: number; p99Ms: number };
  alert: { errorRate: number; p99Ms: number };
}

interface MetricsCheckOptions extends RateOptions {
  /** Series names that must be present, e.g. `veloz_`. */
  prefix: string;
  timeoutMs: number;
  holder?: ScrapeHolder;
  /** §3.3 columns applied to the measured interval; default the runbook's. */
  thresholds?: MetricsThresholds;
  /** Default /metrics. */
  path?: string;
  /**
   * How far back a measured span may reach (like PromQL's rate[30s]) when traffic is too thin to fill
   * it sooner. Default 30s.
   */
  rateWindowMs?: number;
  /** Requests a span must hold before its p99 is trusted (1% of it is 10 requests). Default 1000. */
  minRequests?: number;
  /**
   * Requests a span must hold before its error rate is trusted (5% of it is 10 errors). Default 200:
   * an error rate settles on far fewer requests than a p99, and a shorter span sees a breach sooner.
   */
  minErrorRequests?: number;
}

/** The spans a pass is judged on: each the newest that holds enough requests for its figure. */
interface MeasuredSpans {
  errors: RateWindow;
  latency: RateWindow;
}

/**
 * From the scrapes kept over the window (oldest first) and this pass's scrape, the newest earlier
 * scrape whose span holds enough requests, separately for the error rate and the p99: with busy
 * traffic that is the previous pass (fast to react), with thin traffic it reaches back up to the
 * window's oldest scrape. Undefined when there is no earlier scrape.
 */
export function measureSpans(
  history: readonly Scrape[],
  scrape: Scrape,
  opts: RateOptions & { minRequests?: number; minErrorRequests?: number },
): MeasuredSpans | undefined {
  const minErrors = opts.minErrorRequests ?? 200;
  const minLatency = opts.minRequests ?? 1000;
  let errors: RateWindow | undefined;
  let latency: RateWindow | undefined;
  let reached: RateWindow | undefined;
  // Newest first, and no further back than both figures need: a pass reads a few spans, not the window.
  for (let i = history.length - 1; i >= 0 && !(errors && latency); i--) {
    reached = rateBetween(history[i]!, scrape, opts);
    if (!errors && reached.requests >= minErrors) errors = reached;
    if (!latency && reached.requests >= minLatency) latency = reached;
  }
  return reached && { errors: errors ?? reached, latency: latency ?? reached };
}

const MAX_METRICS_BYTES = 16 * 1024 * 1024;

export function metricsCheck(endpoint: HttpEndpoint, opts: MetricsCheckOptions): Check {
  const path = opts.path ?? '/metrics';
  const limits = opts.thresholds ?? RUNBOOK_SLO;
  const threshold = `series named ${opts.prefix}*; errors ≤ ${formatPercentage(limits.alert.errorRate)}, p99 ≤ ${formatDuration(limits.alert.p99Ms)} between scrapes`;
  return defineCheck('metrics', 'Metrics endpoint', opts.timeoutMs, async ({ signal, clock }) => {
    const scraped = await scrapeOnce(endpoint, path, opts.timeoutMs, signal, () => clock.now());
    if ('failed' in scraped) return scraped.failed;
    const { scrape } = scraped;
    const series = scrape.exposition.samples.length;
    const families = [...scrape.exposition.families.values()];
    const matching = families.filter((f) => f.name.startsWith(opts.prefix) && f.samples.length > 0);
    if (matching.length === 0) {
      const examples = families.slice(0, 3).map((f) => f.name);
      return {
        status: 'fail',
        observed: `0 ${opts.prefix}* series of ${series}`,
        threshold,
        detail: `GET ${path} has no series named ${opts.prefix}*${examples.length ? ` (it has ${examples.join(', ')}…)` : ' (it is empty)'}: is metrics-prefix right, and is this the engine?`,
        data: { series },
      };
    }
    const prefixed = matching.reduce((n, f) => n + f.samples.length, 0);
    const counted = `${prefixed} ${opts.prefix}* series`;
    const { spans, traffic } = opts.holder ? advance(opts.holder, scrape, opts) : {};
    if (!spans) {
      return {
        status: 'pass',
        observed: `${counted}${opts.holder ? '; rates from the next pass' : ''}`,
        threshold,
        data: { series, prefixed },
      };
    }
    const { errors: errorSpan, latency: latencySpan } = spans;
    const { status, notes } = judgeSpans(spans, limits);
    return {
      status,
      observed: `${counted}; ${describeSpans(spans)}`,
      threshold,
      detail: notes.length ? notes.join('\n') : undefined,
      data: {
        series,
        prefixed,
        requests: errorSpan.requests,
        errors: errorSpan.errors,
        errorRate: errorSpan.errorRate,
        intervalMs: errorSpan.seconds * 1000,
        p99Ms: latencySpan.p99Ms,
        observations: latencySpan.observations,
        p99IntervalMs: latencySpan.seconds * 1000,
        resets: latencySpan.resets.length,
        traffic,
      },
    };
  });
}

/** GET /metrics and parse it; a failure is the check's outcome, already worded. */
async function scrapeOnce(
  ep: HttpEndpoint,
  path: string,
  timeoutMs: number,
  signal: AbortSignal,
  now: () => number,
): Promise<{ scrape: Scrape } | { failed: CheckOutcome }> {
  const secrets = secretsOf(ep);
  let res: HttpResponse;
  try {
    res = await httpRequest(ep, {
      path,
      headers: { accept: 'text/plain;version=0.0.4' },
      timeoutMs: ioTimeout(timeoutMs),
      signal,
      maxBodyBytes: MAX_METRICS_BYTES,
    });
  } catch (err) {
    return {
      failed: { status: 'fail', observed: 'no answer', detail: unreachable(ep, path, err, signal, secrets) },
    };
  }
  if (!isOk(res.status)) {
    return {
      failed: {
        status: 'fail',
        observed: `HTTP ${res.status}`,
        detail: `GET ${path} answered ${statusLine(res, secrets)}`,
      },
    };
  }
  try {
    return { scrape: { at: now(), exposition: parseExposition(res.body) } };
  } catch (err) {
    if (!(err instanceof ExpositionError)) throw err;
    return {
      failed: {
        status: 'fail',
        observed: 'not Prometheus text',
        detail: `GET ${path} is not valid Prometheus text exposition: ${err.message}`,
      },
    };
  }
}

/**
 * Adds this scrape to the window's history and measures against it: the spans the figures are judged
 * on, and the requests since the previous pass alone (the §4.1 decision pools these, never overlapping spans).
 */
function advance(
  holder: ScrapeHolder,
  scrape: Scrape,
  opts: MetricsCheckOptions,
): { spans?: MeasuredSpans; traffic?: Record<string, unknown> } {
  const windowMs = opts.rateWindowMs ?? 30_000;
  const kept = holder.history ?? [];
  const history = kept.filter((old) => old.at >= scrape.at - windowMs);
  // After a gap longer than the window, the last scrape is still better than no rate at all.
  const last = kept.at(-1);
  const spans = measureSpans(history.length > 0 ? history : last ? [last] : [], scrape, opts);
  holder.history = [...history, scrape];
  if (!last) return { spans };
  const step = rateBetween(last, scrape, opts);
  return {
    spans,
    traffic: { spanMs: step.seconds * 1000, requests: step.requests, errors: step.errors, buckets: step.buckets },
  };
}

/** §3.3's two columns applied to the measured spans: the worst status and a note per figure off. */
function judgeSpans(spans: MeasuredSpans, limits: MetricsThresholds): { status: CheckStatus; notes: string[] } {
  const { errors: errorSpan, latency: latencySpan } = spans;
  const statuses: CheckStatus[] = ['pass'];
  const notes: string[] = [];
  const over = (
    what: string,
    span: RateWindow,
    shown: string,
    status: CheckStatus,
    expected: string,
    alert: string,
  ) => {
    statuses.push(status);
    if (status === 'fail')
      notes.push(
        `${what} ${shown} over the last ${formatDuration(span.seconds * 1000)} is above the alert threshold ${alert}.`,
      );
    if (status === 'warn') notes.push(`${what} ${shown} is not below the expected ${expected} (alert above ${alert}).`);
  };
  if (errorSpan.errorRate !== undefined) {
    over(
      'Error rate',
      errorSpan,
      `${formatPercentage(errorSpan.errorRate)} (${errorSpan.errors} of ${errorSpan.requests} requests 5xx)`,
      judge(errorSpan.errorRate, limits.expected.errorRate, limits.alert.errorRate),
      formatPercentage(limits.expected.errorRate),
      formatPercentage(limits.alert.errorRate),
    );
  }
  if (latencySpan.p99Ms !== undefined) {
    over(
      'P99 latency',
      latencySpan,
      formatDuration(latencySpan.p99Ms),
      judge(latencySpan.p99Ms, limits.expected.p99Ms, limits.alert.p99Ms),
      formatDuration(limits.expected.p99Ms),
      formatDuration(limits.alert.p99Ms),
    );
  }
  if (latencySpan.resets.length > 0)
    notes.push(`Counters went down since the previous scrape (a restart?): counted from zero.`);
  return { status: worst(statuses), notes };
}

function describeSpans({ errors: errorSpan, latency: latencySpan }: MeasuredSpans): string {
  const seconds = (span: RateWindow): string => formatDuration(span.seconds * 1000);
  return latencySpan.requests > 0
    ? `errors ${formatPercentage(errorSpan.errorRate ?? 0)} of ${errorSpan.requests} requests in ${seconds(errorSpan)}, ` +
        `p99 ${latencySpan.p99Ms === undefined ? 'n/a' : formatDuration(latencySpan.p99Ms)} of ${latencySpan.requests} in ${seconds(latencySpan)}`
    : `no requests between scrapes in ${seconds(latencySpan)}`;
}
