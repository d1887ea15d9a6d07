/**
 * Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`) over the shared endpoint client, so a
 * Prometheus behind auth, a custom CA or the API server's service proxy works the same way. Answers are
 * numbers; an empty result is `undefined` / `[]`, never 0, so "no data" cannot pass as "no errors".
 */
import { httpRequest, type HttpEndpoint } from '../http/endpoint';

/** Prometheus answered, but with an error (bad PromQL, timeout, not the Prometheus API). */
export class PrometheusError extends Error {
  constructor(
    readonly query: string,
    readonly errorType: string,
    readonly error: string,
    readonly status?: number,
  ) {
    super(`Prometheus rejected \`${query}\`: ${errorType}: ${error}`);
    this.name = 'PrometheusError';
  }
}

interface InstantSample {
  metric: Record<string, string>;
  value: number;
  /** Evaluation time, ms since the epoch. */
  at: number;
}

export interface RangeSeries {
  metric: Record<string, string>;
  /** `[ms since the epoch, value]` */
  values: [number, number][];
}

interface QueryOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Evaluation time (ms since the epoch); default: Prometheus' now. */
  time?: number;
}

interface RangeOptions {
  start: number;
  end: number;
  stepMs: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Instant query: a vector or a scalar, as samples. */
export async function instantQuery(prom: HttpEndpoint, promql: string, opts: QueryOptions): Promise<InstantSample[]> {
  const params = new URLSearchParams({ query: promql });
  if (opts.time !== undefined) params.set('time', String(opts.time / 1000));
  const data = await call(prom, '/api/v1/query', params, promql, opts);
  if (data.resultType === 'scalar') {
    const [t, v] = data.result as [number, string];
    return [{ metric: {}, value: toNumber(v), at: t * 1000 }];
  }
  if (data.resultType !== 'vector') {
    throw new PrometheusError(
      promql,
      'unexpected_result',
      `expected an instant vector or scalar, got a ${data.resultType}`,
    );
  }
  return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({
    metric: r.metric,
    value: toNumber(r.value[1]),
    at: r.value[0] * 1000,
  }));
}

/**
 * The one number an aggregated query returns; `undefined` for an empty result. More than one series is an
 * error (the query needs a `sum`/`max`), since picking one would hide the others.
 */
export async function queryValue(prom: HttpEndpoint, promql: string, opts: QueryOptions): Promise<number | undefined> {
  const samples = await instantQuery(prom, promql, opts);
  if (samples.length > 1) {
    const first = JSON.stringify(samples[0]?.metric);
    throw new PrometheusError(
      promql,
      'too_many_series',
      `returned ${samples.length} series (e.g. ${first}); aggregate it with sum() or max() to one value`,
    );
  }
  return samples[0]?.value;
}

export async function rangeQuery(prom: HttpEndpoint, promql: string, opts: RangeOptions): Promise<RangeSeries[]> {
  const params = new URLSearchParams({
    query: promql,
    start: String(opts.start / 1000),
    end: String(opts.end / 1000),
    step: String(Math.max(opts.stepMs, 1) / 1000),
  });
  const data = await call(prom, '/api/v1/query_range', params, promql, opts);
  if (data.resultType !== 'matrix') {
    throw new PrometheusError(promql, 'unexpected_result', `expected a range vector, got a ${data.resultType}`);
  }
  return (data.result as { metric: Record<string, string>; values: [number, string][] }[]).map((r) => ({
    metric: r.metric,
    values: r.values.map(([t, v]) => [t * 1000, toNumber(v)] as [number, number]),
  }));
}

interface ApiData {
  resultType: string;
  result: unknown;
}

async function call(
  prom: HttpEndpoint,
  path: string,
  params: URLSearchParams,
  promql: string,
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<ApiData> {
  const res = await httpRequest(prom, {
    path: `${path}?${params.toString()}`,
    headers: { accept: 'application/json' },
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
    maxBodyBytes: 16 * 1024 * 1024,
  });
  let body: { status?: string; data?: ApiData; errorType?: string; error?: string };
  try {
    body = JSON.parse(res.body) as typeof body;
  } catch {
    // A proxy's error page or the wrong URL: say what answered instead.
    const snippet = res.body.replace(/\s+/g, ' ').trim().slice(0, 200);
    throw new PrometheusError(
      promql,
      `http_${res.status}`,
      `${prom.describe}${path} answered HTTP ${res.status} ${res.statusText} that is not the Prometheus API${snippet ? `: ${snippet}` : ''}`,
      res.status,
    );
  }
  if (body.status !== 'success' || !body.data) {
    throw new PrometheusError(
      promql,
      body.errorType ?? `http_${res.status}`,
      body.error ?? 'no data in the answer',
      res.status,
    );
  }
  return body.data;
}

function toNumber(v: string): number {
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  return Number(v);
}
