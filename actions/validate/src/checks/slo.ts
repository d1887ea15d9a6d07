/**
 * Runbook §3.3 monitoring validation against Prometheus: error rate, p99 latency, CPU, memory and active
 * connections, each held to the table's Expected (warn when reached) and Alert Threshold (fail when
 * exceeded). An empty result is `nodata` naming the query — never a silent pass.
 */
import type { Check, CheckStatus } from '@veloz/shared/checks';
import type { HttpEndpoint } from '@veloz/shared/http/endpoint';
import { formatDuration, formatPercentage } from '@veloz/shared/parse';
import { PrometheusError, queryValue, rangeQuery } from '@veloz/shared/prom/client';
import type { SloSettings } from '../inputs';
import { ioTimeout, judge, secretsOf, unreachable, worst } from '@veloz/shared/endpoint-checks/common';
import { promTraffic, type TrafficMetrics } from './prom-traffic';

export interface SloCheckOptions {
  slo: SloSettings;
  /** Label matchers replacing `$selector`, e.g. `namespace="veloz",pod="veloz-engine-x"`, or '' for all. */
  selector: string;
  timeoutMs: number;
  /** Window over which "Active connections: Stable" is judged (default 5m). */
  stabilityWindowMs?: number;
  /** Read the request counts behind each pass for the §4.1 decision (kept across passes). */
  traffic?: TrafficMetrics;
}

export type SloMetric = 'errorRate' | 'p99Ms' | 'cpu' | 'memory' | 'connections';
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
  const specs: Spec[] = [
    {
      key: 'errorRate',
      label: 'Error rate',
      query: slo.queries.errorRate,
      scale: 1,
      expected: slo.expected.errorRate,
      alert: slo.alert.errorRate,
      format: formatPercentage,
    },
    {
      key: 'p99Ms',
      label: 'P99 latency',
      query: slo.queries.p99,
      scale: 1000,
      expected: slo.expected.p99Ms,
      alert: slo.alert.p99Ms,
      format: formatMs,
    },
    {
      key: 'cpu',
      label: 'CPU usage',
      query: slo.queries.cpu,
      scale: 1,
      expected: slo.expected.cpu,
      alert: slo.alert.cpu,
      format: formatPercentage,
    },
    {
      key: 'memory',
      label: 'Memory usage',
      query: slo.queries.memory,
      scale: 1,
      expected: slo.expected.memory,
      alert: slo.alert.memory,
      format: formatPercentage,
    },
    {
      key: 'connections',
      label: 'Active connections',
      query: slo.queries.connections,
      scale: 1,
      alert: slo.alert.connections,
      format: (v) => String(Math.round(v)),
    },
  ];
  const threshold = specs.map((s) => `${s.label.toLowerCase()} ≤ ${s.format(s.alert)}`).join(', ');
  const traffic = opts.traffic && promTraffic(prom, opts.traffic, selector);

  return {
    name: 'slo',
    title: 'SLO metrics (Prometheus)',
    timeoutMs: opts.timeoutMs,
    async run({ signal, clock }) {
      const timeoutMs = ioTimeout(opts.timeoutMs);
      const measure = async (spec: Spec): Promise<Measured> => {
        const promql = applySelector(spec.query, selector);
        let raw: number | undefined;
        try {
          raw = await queryValue(prom, promql, { timeoutMs, signal });
        } catch (err) {
          // A bad query fails its row; an unreachable Prometheus fails the whole check (below).
          if (!(err instanceof PrometheusError)) throw err;
          return { spec, promql, status: 'fail', note: `${spec.label}: ${err.message}` };
        }
        if (raw === undefined) {
          return {
            spec,
            promql,
            status: 'nodata',
            note: `${spec.label}: \`${promql}\` returned an empty result${selector ? ` (does \`${selector}\` match scraped series?)` : ''}`,
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
      };

      let measured: Measured[];
      try {
        measured = await Promise.all(specs.map(measure));
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
        const swing = await stability(
          connections.promql,
          opts.stabilityWindowMs ?? 300_000,
          clock.now(),
          signal,
          timeoutMs,
        );
        if (swing) {
          connections.status = 'warn';
          connections.note = `Active connections are not stable: ${swing}.`;
        }
      }

      const status = worst(measured.map((m) => m.status));
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
      if (traffic) {
        // The counts only feed the §4.1 decision; a failed read leaves that pass without them (no data).
        data.traffic = await traffic.read({ now: clock.now(), timeoutMs, signal }).catch(() => undefined);
      }
      const notes = measured.flatMap((m) => (m.note ? [m.note] : []));
      return {
        status,
        observed: measured
          .map((m) => `${m.spec.label.toLowerCase()} ${m.value === undefined ? 'no data' : m.spec.format(m.value)}`)
          .join(', '),
        threshold,
        detail: notes.length ? notes.join('\n') : undefined,
        data,
      };
    },
  };

  /** Undefined when stable (or when the range has too few points to say); else how it swung. */
  async function stability(
    promql: string,
    windowMs: number,
    now: number,
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<string | undefined> {
    let series;
    try {
      series = await rangeQuery(prom, promql, {
        start: now - windowMs,
        end: now,
        stepMs: Math.max(1000, windowMs / 30),
        timeoutMs,
        signal,
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
}

/**
 * Puts the label matchers where `$selector` stands, then tidies every `{…}`: empty matchers go (an empty
 * selector must not leave `{code=~"5..",}` or `{,}`), and `name{}` becomes `name`. Quoted strings are
 * left alone.
 */
export function applySelector(query: string, selector: string): string {
  const text = query.split('$selector').join(selector.trim());
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '"' || c === "'" || c === '`') {
      const end = stringEnd(text, i);
      out += text.slice(i, end);
      i = end;
    } else if (c === '{') {
      let j = i + 1;
      const parts: string[] = [];
      let current = '';
      while (j < text.length && text[j] !== '}') {
        const d = text[j] as string;
        if (d === '"' || d === "'" || d === '`') {
          const end = stringEnd(text, j);
          current += text.slice(j, end);
          j = end;
        } else {
          if (d === ',') {
            parts.push(current);
            current = '';
          } else current += d;
          j++;
        }
      }
      parts.push(current);
      const matchers = parts.map((p) => p.trim()).filter((p) => p !== '');
      const named = /[a-zA-Z0-9_:]\s*$/.test(out);
      if (matchers.length > 0 || !named) out += `{${matchers.join(',')}}`;
      else out = out.replace(/\s+$/, '');
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Index just past the string literal starting at `start` (backslash escapes except in raw backticks). */
function stringEnd(text: string, start: number): number {
  const quote = text[start];
  let i = start + 1;
  while (i < text.length && text[i] !== quote) i += quote !== '`' && text[i] === '\\' ? 2 : 1;
  return Math.min(i + 1, text.length);
}

function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  return ms < 10 ? `${Number(ms.toFixed(1))}ms` : formatDuration(Math.round(ms));
}
