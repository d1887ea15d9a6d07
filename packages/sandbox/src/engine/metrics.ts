/** The engine's Prometheus series, rendered in the text exposition format (version 0.0.4). */
import { LATENCY_BUCKETS } from './latency';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The instrumented routes: the trading API. Probes and scrapes are not counted, as in VeloZ's middleware. */
export const API_ROUTES = ['/api/market', '/api/orders_state', '/api/order', '/api/stream'] as const;
export type ApiRoute = (typeof API_ROUTES)[number];

interface RouteHistogram {
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

/** Process figures supplied at render time (they are simulated, not this Node process's own). */
export interface ProcessFigures {
  cpuSeconds: number;
  residentBytes: number;
  startTimeSeconds: number;
  activeConnections: number;
  version: string;
}

export class EngineMetrics {
  private readonly requests = new Map<string, number>();
  private readonly durations = new Map<ApiRoute, RouteHistogram>();

  constructor() {
    // Zero-valued 200 and 500 series from the start: rate() over a series that appears mid-window loses its
    // first increments, which would bias the error ratio low right after a degrade begins.
    for (const route of API_ROUTES) {
      for (const code of [200, 500]) this.requests.set(key(code, route), 0);
      this.durations.set(route, { counts: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0), sum: 0, count: 0 });
    }
  }

  observe(route: ApiRoute, code: number, seconds: number): void {
    const k = key(code, route);
    this.requests.set(k, (this.requests.get(k) ?? 0) + 1);
    const h = this.durations.get(route) as RouteHistogram;
    let i = LATENCY_BUCKETS.findIndex((b) => seconds <= b);
    if (i < 0) i = LATENCY_BUCKETS.length;
    h.counts[i] = (h.counts[i] as number) + 1;
    h.sum += seconds;
    h.count += 1;
  }

  /** Total requests observed, for the simulated CPU figure. */
  get total(): number {
    let n = 0;
    for (const h of this.durations.values()) n += h.count;
    return n;
  }

  render(p: ProcessFigures): string {
    const out: string[] = [];
    out.push(
      '# HELP veloz_http_requests_total HTTP requests handled by the VeloZ API, by status code and route.',
      '# TYPE veloz_http_requests_total counter',
    );
    for (const [k, n] of [...this.requests].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const [code, route] = k.split(' ') as [string, string];
      out.push(`veloz_http_requests_total{code="${code}",route="${route}"} ${n}`);
    }
    out.push(
      '# HELP veloz_http_request_duration_seconds Latency of VeloZ API requests.',
      '# TYPE veloz_http_request_duration_seconds histogram',
    );
    for (const [route, h] of this.durations) {
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += h.counts[i] as number;
        out.push(`veloz_http_request_duration_seconds_bucket{route="${route}",le="${le}"} ${cumulative}`);
      });
      out.push(`veloz_http_request_duration_seconds_bucket{route="${route}",le="+Inf"} ${h.count}`);
      out.push(`veloz_http_request_duration_seconds_sum{route="${route}"} ${h.sum.toFixed(6)}`);
      out.push(`veloz_http_request_duration_seconds_count{route="${route}"} ${h.count}`);
    }
    out.push(
      '# HELP veloz_active_connections Open client connections: SSE and WebSocket streams, in-flight API requests.',
      '# TYPE veloz_active_connections gauge',
      `veloz_active_connections ${p.activeConnections}`,
      '# HELP veloz_build_info Engine build; the value is always 1.',
      '# TYPE veloz_build_info gauge',
      `veloz_build_info{version="${escapeLabel(p.version)}"} 1`,
      '# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.',
      '# TYPE process_cpu_seconds_total counter',
      `process_cpu_seconds_total ${p.cpuSeconds.toFixed(3)}`,
      '# HELP process_resident_memory_bytes Resident memory size in bytes.',
      '# TYPE process_resident_memory_bytes gauge',
      `process_resident_memory_bytes ${Math.round(p.residentBytes)}`,
      '# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.',
      '# TYPE process_start_time_seconds gauge',
      `process_start_time_seconds ${p.startTimeSeconds.toFixed(3)}`,
    );
    return out.join('\n') + '\n';
  }
}

function key(code: number, route: string): string {
  return `${code} ${route}`;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
