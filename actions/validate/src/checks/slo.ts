/**
 * Runbook §3.3 monitoring validation against Prometheus: error rate, p99 latency, CPU, memory and active
 * connections, each held to the table's Expected (warn when reached) and Alert Threshold (fail when
 * exceeded). An empty result is `nodata` naming the query — never a silent pass.
 */
import { type Check, type CheckStatus, defineCheck } from '@veloz/shared/checks';
import type { HttpEndpoint } from '@veloz/shared/http/endpoint';
import { formatDuration, formatPercentage } from '@veloz/shared/parse';
import { PrometheusError, queryValue, rangeQuery } from '@veloz/shared/prom/client';
import { SLO_METRICS, type SloMetric, type SloUnit } from '@veloz/shared/runbook';
import type { SloSettings } from '../inputs';
import { ioTimeout, judge, secretsOf, unreachable, worst } from '@veloz/shared/endpoint-checks/common';
import { promTraffic, type TrafficMetrics } from './prom-traffic';
import { applySelector } from './promql';

interface SloCheckOptions {
  slo: SloSettings;
  /** Label matchers replacing `$selector`, e.g. `namespace="veloz",pod="veloz-engine-x"`, or '' for all. */
  selector: string;
  timeoutMs: number;
  /** Window over which "Active connections: Stable" is judged (default 5m). */
  stabilityWindowMs?: number;
  /** Read the request counts behind each pass for the §4.1 decision (kept across passes). */
  traffic?: TrafficMetrics;
}

/** `[metric, observed, expected, alert, status]`, the §3.3 table with a column of observations. */
export type SloRow = [string, string, string, string, CheckStatus];

interface Spec {
  key: SloMetric;
  label: string;
  query: string;
  /** Prometheus answers seconds for p99; the settings and report use ms. */
  scale: number;
  expected?: number;
  alert: number;
  format: (v: number) => string;
}

interface Measured {
  spec: Spec;
  promql: string;
  value?: number;
  status: CheckStatus;
  note?: string;
}

/** Connections are "unstable" when they swing by more than this share of their mean (and this many). */
const UNSTABLE_SHARE = 0.5;
const UNSTABLE_MIN_SWING = 20;

export function sloCheck(prom: HttpEndpoint, opts: SloCheckOptions): Check {
  const { slo, selector } = opts;
  const secrets = secretsOf(prom);
  const specs = sloSpecs(slo);
  const threshold = specs.map((s) => `${s.label.toLowerCase()} ≤ ${s.format(s.alert)}`).join(', ');
  const traffic = opts.traffic && promTraffic(prom, opts.traffic, selector);

  return defineCheck('slo', 'SLO metrics (Prometheus)', opts.timeoutMs, async ({ signal, clock }) => {
    const q: Query = { prom, selector, timeoutMs: ioTimeout(opts.timeoutMs), signal };
    let measured: Measured[];
    try {
      measured = await Promise.all(specs.map((spec) => measure(q, spec)));
    } catch (err) {
      const detail = unreachable(prom, '/api/v1/query', err, signal, secrets);
      return {
        status: 'fail',
        observed: 'no measurement',
        threshold,
        detail,
        data: { error: detail, nodataAs: slo.nodata },
      };
    }
    const connections = measured.find((m) => m.spec.key === 'connections') as Measured;
    if (connections.status === 'pass' && connections.value !== undefined) {
      const swing = await stability(q, connections.promql, opts.stabilityWindowMs ?? 300_000, clock.now());
      if (swing) {
        connections.status = 'warn';
        connections.note = `Active connections are not stable: ${swing}.`;
      }
    }
    const data = sloData(measured, slo);
    if (traffic) {
      // The counts only feed the §4.1 decision; a failed read leaves that pass without them (no data).
      data.traffic = await traffic.read({ now: clock.now(), timeoutMs: q.timeoutMs, signal }).catch(() => undefined);
    }
    const notes = measured.flatMap((m) => (m.note ? [m.note] : []));
    return {
      status: worst(measured.map((m) => m.status)),
      observed: measured
        .map((m) => `${m.spec.label.toLowerCase()} ${m.value === undefined ? 'no data' : m.spec.format(m.value)}`)
        .join(', '),
      threshold,
      detail: notes.length ? notes.join('\n') : undefined,
      data,
    };
  });
}

const FORMATS: Record<SloUnit, (v: number) => string> = {
  fraction: formatPercentage,
  ms: formatMs,
  count: (v) => String(Math.round(v)),
};

/** Runbook §3.3's rows (shared/runbook SLO_METRICS) with this run's queries and thresholds. */
function sloSpecs(slo: SloSettings): Spec[] {
  return SLO_METRICS.map((m) => ({
    key: m.key,
    label: m.label,
    query: slo.queries[m.query],
    scale: m.scale,
    expected: 'expected' in m ? slo.expected[m.key] : undefined,
    alert: slo.alert[m.key],
    format: FORMATS[m.unit],
  }));
}

interface Query {
  prom: HttpEndpoint;
  selector: string;
  timeoutMs: number;
  signal: AbortSignal;
}

/** One row: its instant value judged against both columns; a bad query fails its row only. */
async function measure(q: Query, spec: Spec): Promise<Measured> {
  const promql = applySelector(spec.query, q.selector);
  let raw: number | undefined;
  try {
    raw = await queryValue(q.prom, promql, { timeoutMs: q.timeoutMs, signal: q.signal });
  } catch (err) {
    // A bad query fails its row; an unreachable Prometheus fails the whole check (the caller).
    if (!(err instanceof PrometheusError)) throw err;
    return { spec, promql, status: 'fail', note: `${spec.label}: ${err.message}` };
  }
  if (raw === undefined) {
    return {
      spec,
      promql,
      status: 'nodata',
      note: `${spec.label}: \`${promql}\` returned an empty result${q.selector ? ` (does \`${q.selector}\` match scraped series?)` : ''}`,
    };
  }
  if (Number.isNaN(raw)) {
    return {
      spec,
      promql,
      status: 'nodata',
      note: `${spec.label}: \`${promql}\` returned NaN (0/0: nothing happened in the window)`,
    };
  }
  const value = raw * spec.scale;
  const status = judge(value, spec.expected, spec.alert);
  const m: Measured = { spec, promql, value, status };
  if (status === 'fail')
    m.note = `${spec.label} ${spec.format(value)} is above the alert threshold ${spec.format(spec.alert)}.`;
  else if (status === 'warn')
    m.note = `${spec.label} ${spec.format(value)} is not below the expected ${spec.format(spec.expected ?? 0)} (alert above ${spec.format(spec.alert)}).`;
  return m;
}

/** The report's §3.3 table rows and the machine-readable figures. */
function sloData(measured: Measured[], slo: SloSettings): Record<string, unknown> {
  const rows: SloRow[] = measured.map((m) => [
    m.spec.label,
    m.value === undefined ? 'no data' : m.spec.format(m.value),
    m.spec.expected === undefined ? 'stable' : `< ${m.spec.format(m.spec.expected)}`,
    `> ${m.spec.format(m.spec.alert)}`,
    m.status,
  ]);
  const data: Record<string, unknown> = {
    rows,
    nodata: measured.filter((m) => m.status === 'nodata').map((m) => m.spec.key),
    nodataAs: slo.nodata,
    queries: Object.fromEntries(measured.map((m) => [m.spec.key, m.promql])),
  };
  for (const m of measured) if (m.value !== undefined) data[m.spec.key] = m.value;
  return data;
}

/** Undefined when stable (or when the range has too few points to say); else how it swung. */
async function stability(q: Query, promql: string, windowMs: number, now: number): Promise<string | undefined> {
  let series;
  try {
    series = await rangeQuery(q.prom, promql, {
      start: now - windowMs,
      end: now,
      stepMs: Math.max(1000, windowMs / 30),
      timeoutMs: q.timeoutMs,
      signal: q.signal,
    });
  } catch {
    return undefined; // the instant value already passed; a failed range query is not a finding
  }
  const values = (series[0]?.values ?? []).map(([, v]) => v).filter(Number.isFinite);
  if (series.length !== 1 || values.length < 3) return undefined;
  const min = Math.min(...values);
  const max = Math.max(...values);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  if (max - min <= Math.max(UNSTABLE_MIN_SWING, UNSTABLE_SHARE * mean)) return undefined;
  return `between ${Math.round(min)} and ${Math.round(max)} over the last ${formatDuration(windowMs)}`;
}

function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  return ms < 10 ? `${Number(ms.toFixed(1))}ms` : formatDuration(Math.round(ms));
}
