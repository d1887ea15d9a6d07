/**
 * The slo check and the Prometheus client against a real Prometheus scraping a healthy and a degraded
 * engine: pass, fail with the observed values, nodata for a selector that matches nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runChecks, type CheckResult } from '@veloz/shared/checks';
import { urlEndpoint, type HttpEndpoint } from '@veloz/shared/http/endpoint';
import { PrometheusError, instantQuery, queryValue, rangeQuery } from '@veloz/shared/prom/client';
import type { EngineHandle } from '@veloz/sandbox/engine/index';
import { promTraffic } from '../../actions/validate/src/checks/prom-traffic';
import { sloCheck, type SloRow } from '../../actions/validate/src/checks/slo';
import type { SloSettings } from '../../actions/validate/src/inputs';
import { startStableAndCanary } from '../support/engine-pair';
import { startPrometheus, type Prometheus } from '@veloz/harness/servers/prometheus';
import { closedPort } from './checks-support';

/** The action's defaults (validate/action.yml) and the runbook §3.3 table. */
const SLO = (prometheusUrl: string, queries: Partial<SloSettings['queries']> = {}): SloSettings => ({
  prometheusUrl,
  queries: {
    errorRate:
      'sum(rate(veloz_http_requests_total{code=~"5..",$selector}[5m])) / sum(rate(veloz_http_requests_total{$selector}[5m]))',
    p99: 'histogram_quantile(0.99, sum by (le) (rate(veloz_http_request_duration_seconds_bucket{$selector}[5m])))',
    cpu: 'sum(rate(process_cpu_seconds_total{$selector}[5m])) / count(process_cpu_seconds_total{$selector})',
    memory: 'max(process_resident_memory_bytes{$selector}) / (512 * 1024 * 1024)',
    connections: 'sum(veloz_active_connections{$selector})',
    ...queries,
  },
  expected: { errorRate: 0.001, p99Ms: 100, cpu: 0.5, memory: 0.6 },
  alert: { errorRate: 0.01, p99Ms: 500, cpu: 0.8, memory: 0.85, connections: 1000 },
  nodata: 'warn',
});

let stable: EngineHandle;
let canary: EngineHandle;
let prometheus: Prometheus;
let prom: HttpEndpoint;

const selector = (e: EngineHandle): string => `namespace="veloz",pod="${e.podName}"`;
async function slo(sel: string, queries?: Partial<SloSettings['queries']>): Promise<CheckResult> {
  const [r] = await runChecks([
    sloCheck(prom, { slo: SLO(prometheus.url, queries), selector: sel, timeoutMs: 10_000 }),
  ]);
  return r as CheckResult;
}
const rowStatuses = (r: CheckResult): Record<string, string> =>
  Object.fromEntries((r.data?.rows as SloRow[]).map(([metric, , , , status]) => [metric, status]));

beforeAll(async () => {
  ({ stable, canary } = await startStableAndCanary());
  prometheus = await startPrometheus({ targets: [stable.scrapeTarget(), canary.scrapeTarget()], scrapeInterval: '1s' });
  prom = urlEndpoint(prometheus.url);
  await prometheus.waitForTargetsUp(30_000);
  // rate() needs two samples; a few more make the p99 tail hold a few hundred observations.
  await prometheus.waitFor(
    'count_over_time(up{job="veloz"}[1m])',
    (s) => s.length === 2 && s.every((x) => x.value >= 5),
    30_000,
  );
});

afterAll(async () => {
  await prometheus?.stop();
  await Promise.all([stable?.stop(), canary?.stop()]);
});

describe('Prometheus client', () => {
  test('an instant query returns numbers; an empty result is undefined, not 0', async () => {
    expect(await queryValue(prom, `up{pod="${stable.podName}"}`, { timeoutMs: 5000 })).toBe(1);
    expect(await queryValue(prom, 'up{pod="no-such-pod"}', { timeoutMs: 5000 })).toBeUndefined();
    expect(await queryValue(prom, 'vector(0)', { timeoutMs: 5000 })).toBe(0);
    expect(await queryValue(prom, '1 + 1', { timeoutMs: 5000 })).toBe(2);
    const both = await instantQuery(prom, 'up', { timeoutMs: 5000 });
    expect(both.map((s) => s.metric.pod).sort()).toEqual([canary.podName, stable.podName]);
  });

  test('more than one series for a single value is an error that says how to aggregate', async () => {
    await expect(queryValue(prom, 'up', { timeoutMs: 5000 })).rejects.toThrow(/returned 2 series .*sum\(\) or max\(\)/);
  });

  test('a bad query names the PromQL and Prometheus’ errorType and error', async () => {
    const err = (await queryValue(prom, 'sum(rate(up[5m])', { timeoutMs: 5000 }).catch(
      (e: unknown) => e,
    )) as PrometheusError;
    expect(err).toBeInstanceOf(PrometheusError);
    expect(err.errorType).toBe('bad_data');
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/^Prometheus rejected `sum\(rate\(up\[5m\]\)`: bad_data: .*parse error/);
  });

  test('a range query returns points in ms', async () => {
    const end = Date.now();
    const series = await rangeQuery(prom, `up{pod="${stable.podName}"}`, {
      start: end - 5000,
      end,
      stepMs: 1000,
      timeoutMs: 5000,
    });
    expect(series).toHaveLength(1);
    expect(series[0]?.values.length).toBeGreaterThanOrEqual(3);
    const [t, v] = series[0]?.values.at(-1) as [number, number];
    expect(Math.abs(t - end)).toBeLessThan(1500);
    expect(v).toBe(1);
  });
});

describe('slo check', () => {
  test('a healthy pod passes every row of the §3.3 table', async () => {
    const r = await slo(selector(stable));
    expect([r.status, r.detail]).toEqual(['pass', undefined]);
    expect(rowStatuses(r)).toEqual({
      'Error rate': 'pass',
      'P99 latency': 'pass',
      'CPU usage': 'pass',
      'Memory usage': 'pass',
      'Active connections': 'pass',
    });
    expect(r.data).toMatchObject({ errorRate: 0, nodata: [] });
    expect(r.data?.p99Ms as number).toBeLessThan(100);
    expect(r.data?.memory as number).toBeGreaterThan(0.3);
    expect(r.data?.memory as number).toBeLessThan(0.4);
    expect((r.data?.rows as SloRow[])[0]).toEqual(['Error rate', '0%', '< 0.1%', '> 1%', 'pass']);
    expect(r.observed).toMatch(
      /^error rate 0%, p99 latency \d+(\.\d)?ms, cpu usage [\d.]+%, memory usage [\d.]+%, active connections \d+$/,
    );
  });

  test('the degraded pod fails with the observed error rate and p99', async () => {
    const r = await slo(selector(canary));
    expect(r.status).toBe('fail');
    expect(rowStatuses(r)).toMatchObject({ 'Error rate': 'fail', 'P99 latency': 'fail', 'CPU usage': 'pass' });
    const errorRate = r.data?.errorRate as number;
    const p99 = r.data?.p99Ms as number;
    expect(errorRate).toBeGreaterThan(0.04);
    expect(errorRate).toBeLessThan(0.08);
    expect(p99).toBeGreaterThan(1000);
    expect(p99).toBeLessThan(1500);
    expect(r.detail).toMatch(
      /^Error rate [\d.]+% is above the alert threshold 1%\.\nP99 latency 1\.\d+s is above the alert threshold 500ms\.$/,
    );
    const rows = r.data?.rows as SloRow[];
    expect(rows[1]?.slice(2)).toEqual(['< 100ms', '> 500ms', 'fail']);
    expect(r.data?.queries).toMatchObject({
      errorRate: `sum(rate(veloz_http_requests_total{code=~"5..",${selector(canary)}}[5m])) / sum(rate(veloz_http_requests_total{${selector(canary)}}[5m]))`,
    });
  });

  test('a selector that matches nothing is nodata, naming each empty query — never a pass', async () => {
    const r = await slo('namespace="veloz",pod="veloz-engine-gone"');
    expect(r.status).toBe('nodata');
    expect(r.data).toMatchObject({
      nodata: ['errorRate', 'p99Ms', 'cpu', 'memory', 'connections'],
      nodataAs: 'warn',
    });
    expect(r.data?.errorRate).toBeUndefined();
    expect(r.detail?.split('\n')).toHaveLength(5);
    expect(r.detail).toContain(
      'Error rate: `sum(rate(veloz_http_requests_total{code=~"5..",namespace="veloz",pod="veloz-engine-gone"}[5m]))',
    );
    expect(r.detail).toContain(
      'returned an empty result (does `namespace="veloz",pod="veloz-engine-gone"` match scraped series?)',
    );
    expect(rowStatuses(r)['Error rate']).toBe('nodata');
    expect((r.data?.rows as SloRow[])[0]?.[1]).toBe('no data');
  });

  test('an empty selector still makes valid PromQL and measures across every pod', async () => {
    const r = await slo('');
    expect(r.data?.queries).toMatchObject({
      errorRate: 'sum(rate(veloz_http_requests_total{code=~"5.."}[5m])) / sum(rate(veloz_http_requests_total[5m]))',
    });
    expect(r.data?.nodata).toEqual([]);
    // Half the traffic is the canary's: ~3% errors, above the alert threshold.
    expect(r.data?.errorRate as number).toBeGreaterThan(0.02);
    expect(r.data?.errorRate as number).toBeLessThan(0.04);
    expect(r.status).toBe('fail');
  });

  test('a broken query fails its own row with Prometheus’ words; the other rows are still measured', async () => {
    const r = await slo(selector(stable), { cpu: 'sum(rate(process_cpu_seconds_total{$selector}[5m]' });
    expect(r.status).toBe('fail');
    expect(rowStatuses(r)).toMatchObject({ 'CPU usage': 'fail', 'Error rate': 'pass', 'Memory usage': 'pass' });
    expect(r.detail).toMatch(
      /^CPU usage: Prometheus rejected `sum\(rate\(process_cpu_seconds_total\{namespace="veloz",pod="veloz-engine-stable-0"\}\[5m\]`: bad_data: /,
    );
  });

  test('an unreachable Prometheus fails with host, port, ECONNREFUSED and a hint', async () => {
    const port = await closedPort();
    const down = urlEndpoint(`http://127.0.0.1:${port}`);
    const [r] = await runChecks([
      sloCheck(down, { slo: SLO(`http://127.0.0.1:${port}`), selector: selector(stable), timeoutMs: 5000 }),
    ]);
    expect(r?.status).toBe('fail');
    expect(r?.detail).toBe(
      `cannot reach /api/v1/query at http://127.0.0.1:${port}: ECONNREFUSED — nothing is listening there: is the server running, and is the port right?`,
    );
  });
});

describe('request counts behind each pass, from Prometheus (the §4.1 decision)', () => {
  const metrics = {
    requestsMetric: 'veloz_http_requests_total',
    durationMetric: 'veloz_http_request_duration_seconds',
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  test('counter and bucket sums differenced between passes: whole counts, 5xx, +Inf bucket = requests', async () => {
    const reader = promTraffic(prom, metrics, selector(canary));
    const signal = new AbortController().signal;
    expect(await reader.read({ now: Date.now(), timeoutMs: 5000, signal })).toBeUndefined(); // first pass
    await sleep(3000);
    const t = await reader.read({ now: Date.now(), timeoutMs: 5000, signal });
    expect(t).toBeDefined();
    expect(t!.spanMs).toBeGreaterThanOrEqual(3000);
    expect(Number.isInteger(t!.requests) && t!.requests > 0).toBe(true);
    // the canary answers 6% errors
    expect(t!.errors).toBeGreaterThan(0);
    expect(t!.errors).toBeLessThan(t!.requests);
    expect(t!.buckets?.at(-1)).toEqual({ le: Infinity, count: t!.requests });
  });

  test('a selector that matches nothing yields no counts (never zero requests passed off as data)', async () => {
    const reader = promTraffic(prom, metrics, 'pod="no-such-pod"');
    const signal = new AbortController().signal;
    await reader.read({ now: Date.now(), timeoutMs: 5000, signal });
    expect(await reader.read({ now: Date.now() + 1000, timeoutMs: 5000, signal })).toBeUndefined();
  });

  test('the slo check hands them to the decision as data.traffic', async () => {
    const check = sloCheck(prom, {
      slo: SLO(prometheus.url),
      selector: selector(stable),
      timeoutMs: 10_000,
      traffic: metrics,
    });
    await runChecks([check]);
    await sleep(2000);
    const [second] = await runChecks([check]);
    expect(second!.data?.traffic).toMatchObject({ errors: 0 });
    expect((second!.data?.traffic as { requests: number }).requests).toBeGreaterThan(0);
  });
});
