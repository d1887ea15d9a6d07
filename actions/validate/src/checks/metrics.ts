/**
 * Runbook §3.1 `curl -s …/metrics | grep veloz_`: the endpoint answers Prometheus text with series named
 * by the prefix. With a holder kept across the monitoring window's passes, each pass after the first also
 * measures what happened since the previous scrape — error rate and p99 from the engine's own counters —
 * so the §4.1 error-rate and latency criteria have data even without a Prometheus.
 */
import type { Check, CheckStatus } from '@veloz/shared/checks';
import { httpRequest, type HttpEndpoint, type HttpResponse } from '@veloz/shared/http/endpoint';
import { formatDuration, formatPercentage } from '@veloz/shared/parse';
import { ExpositionError, parseExposition, rateBetween, type RateOptions, type Scrape } from '@veloz/shared/prom/text';
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

export interface MetricsThresholds {
  expected: { errorRate: number; p99Ms: number };
  alert: { errorRate: number; p99Ms: number };
}

export interface MetricsCheckOptions extends RateOptions {
  /** Series names that must be present, e.g. `veloz_`. */
  prefix: string;
  timeoutMs: number;
  holder?: ScrapeHolder;
  /** §3.3 columns applied to the measured interval; default the runbook's. */
  thresholds?: MetricsThresholds;
  /** Default /metrics. */
  path?: string;
  /**
   * Rates are measured from the oldest scrape within this window (like PromQL's rate[30s]): one
   * interval holds too few requests for a stable p99. Default 30s.
   */
  rateWindowMs?: number;
  /** Requests a measured interval should span before it is trusted for a p99 (1% of it is 10). Default 1000. */
  minRequests?: number;
}

const MAX_METRICS_BYTES = 16 * 1024 * 1024;

export function metricsCheck(ep: HttpEndpoint, opts: MetricsCheckOptions): Check {
  const path = opts.path ?? '/metrics';
  const secrets = secretsOf(ep);
  const limits = opts.thresholds ?? RUNBOOK_SLO;
  return {
    name: 'metrics',
    title: 'Metrics endpoint',
    timeoutMs: opts.timeoutMs,
    async run({ signal, clock }) {
      let res: HttpResponse;
      try {
        res = await httpRequest(ep, {
          path,
          headers: { accept: 'text/plain;version=0.0.4' },
          timeoutMs: ioTimeout(opts.timeoutMs),
          signal,
          maxBodyBytes: MAX_METRICS_BYTES,
        });
      } catch (err) {
        return { status: 'fail', observed: 'no answer', detail: unreachable(ep, path, err, signal, secrets) };
      }
      if (!isOk(res.status)) {
        return {
          status: 'fail',
          observed: `HTTP ${res.status}`,
          detail: `GET ${path} answered ${statusLine(res, secrets)}`,
        };
      }
      let scrape: Scrape;
      try {
        scrape = { at: clock.now(), exposition: parseExposition(res.body) };
      } catch (err) {
        if (!(err instanceof ExpositionError)) throw err;
        return {
          status: 'fail',
          observed: 'not Prometheus text',
          detail: `GET ${path} is not valid Prometheus text exposition: ${err.message}`,
        };
      }
      const series = scrape.exposition.samples.length;
      const families = [...scrape.exposition.families.values()];
      const matching = families.filter((f) => f.name.startsWith(opts.prefix) && f.samples.length > 0);
      const threshold = `series named ${opts.prefix}*; errors ≤ ${formatPercentage(limits.alert.errorRate)}, p99 ≤ ${formatDuration(limits.alert.p99Ms)} between scrapes`;
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
      let previous: Scrape | undefined;
      if (opts.holder) {
        const windowMs = opts.rateWindowMs ?? 30_000;
        const history = (opts.holder.history ?? []).filter((old) => old.at >= scrape.at - windowMs);
        // The newest earlier scrape that spans enough requests for a meaningful p99: with busy
        // traffic that is the previous pass (fast to react), with little traffic it reaches further
        // back, up to the window.
        const minRequests = opts.minRequests ?? 1000;
        previous = [...history].reverse().find((old) => rateBetween(old, scrape, opts).requests >= minRequests);
        previous ??= history[0] ?? opts.holder.history?.at(-1);
        opts.holder.history = [...history, scrape];
      }
      if (!previous) {
        return {
          status: 'pass',
          observed: `${counted}${opts.holder ? '; rates from the next pass' : ''}`,
          threshold,
          data: { series, prefixed },
        };
      }

      const window = rateBetween(previous, scrape, opts);
      const statuses: CheckStatus[] = ['pass'];
      const notes: string[] = [];
      const over = (what: string, shown: string, status: CheckStatus, expected: string, alert: string): void => {
        statuses.push(status);
        if (status === 'fail')
          notes.push(
            `${what} ${shown} over the last ${formatDuration(window.seconds * 1000)} is above the alert threshold ${alert}.`,
          );
        if (status === 'warn')
          notes.push(`${what} ${shown} is not below the expected ${expected} (alert above ${alert}).`);
      };
      if (window.errorRate !== undefined) {
        over(
          'Error rate',
          `${formatPercentage(window.errorRate)} (${window.errors} of ${window.requests} requests 5xx)`,
          judge(window.errorRate, limits.expected.errorRate, limits.alert.errorRate),
          formatPercentage(limits.expected.errorRate),
          formatPercentage(limits.alert.errorRate),
        );
      }
      if (window.p99Ms !== undefined) {
        over(
          'P99 latency',
          formatDuration(window.p99Ms),
          judge(window.p99Ms, limits.expected.p99Ms, limits.alert.p99Ms),
          formatDuration(limits.expected.p99Ms),
          formatDuration(limits.alert.p99Ms),
        );
      }
      if (window.resets.length > 0)
        notes.push(`Counters went down since the previous scrape (a restart?): counted from zero.`);
      const measured =
        window.requests > 0
          ? `${window.requests} requests, errors ${formatPercentage(window.errorRate ?? 0)}, p99 ${window.p99Ms === undefined ? 'n/a' : formatDuration(window.p99Ms)}`
          : 'no requests between scrapes';
      return {
        status: worst(statuses),
        observed: `${counted}; ${measured} in ${formatDuration(window.seconds * 1000)}`,
        threshold,
        detail: notes.length ? notes.join('\n') : undefined,
        data: {
          series,
          prefixed,
          requests: window.requests,
          errors: window.errors,
          errorRate: window.errorRate,
          p99Ms: window.p99Ms,
          observations: window.observations,
          intervalMs: window.seconds * 1000,
          resets: window.resets.length,
        },
      };
    },
  };
}
