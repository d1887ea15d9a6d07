/**
 * A real Prometheus for tests: Debian's `prometheus` on a free loopback port, with a temp data dir and a
 * generated config whose targets come from a file_sd document (so targets can change while it runs).
 *
 * Prometheus is ready in ~0.1 s but its first scrape lands ~5–6 s after start even at a 1 s interval: use
 * `waitForTargetsUp()` (it polls `up`), never a fixed sleep.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { requirePrograms } from '../prerequisites';
import { freePort, killOnExit } from './server-process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrometheusTarget {
  /** `host:port` */
  address: string;
  /** Target labels, e.g. `{ namespace: 'veloz', pod: 'veloz-engine-0' }`. */
  labels?: Record<string, string>;
  /** Defaults to `/metrics`. */
  metricsPath?: string;
}

export interface PrometheusOptions {
  targets?: readonly PrometheusTarget[];
  /** Prometheus duration; default `1s`. */
  scrapeInterval?: string;
  /** Default `job` label; `veloz`. */
  jobName?: string;
  /** Path to the binary; default `$PROMETHEUS_BIN` or `/usr/bin/prometheus`. */
  binary?: string;
  /** How long to wait for `/-/ready`; default 15 s. */
  startTimeoutMs?: number;
  /** Rule files (paths) to load, as `rule_files` of the config; check them with `promtool check rules` first. */
  ruleFiles?: readonly string[];
}

export interface Sample {
  metric: Record<string, string>;
  value: number;
  /** Evaluation time, seconds since the epoch. */
  time: number;
}

export interface RangeSeries {
  metric: Record<string, string>;
  /** `[seconds since the epoch, value]` pairs. */
  values: [number, number][];
}

/** Times are Dates or milliseconds since the epoch. */
export interface RangeQuery {
  start: Date | number;
  end: Date | number;
  /** Seconds between points. */
  stepSeconds: number;
}

export interface Prometheus {
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** Instant query (vector or scalar result), at `time` (Date or ms since the epoch) or now. */
  query(promql: string, time?: Date | number): Promise<Sample[]>;
  /** The single value of an instant query; undefined when it returns no series. */
  queryValue(promql: string, time?: Date | number): Promise<number | undefined>;
  queryRange(promql: string, range: RangeQuery): Promise<RangeSeries[]>;
  /** Replaces the scrape targets (file_sd; picked up within about a second). */
  setTargets(targets: readonly PrometheusTarget[]): Promise<void>;
  /** Polls `up` until every current target has been scraped successfully. */
  waitForTargetsUp(timeoutMs?: number): Promise<Sample[]>;
  /** Polls an instant query until `accept` holds for its result; returns that result. */
  waitFor(promql: string, accept: (samples: Sample[]) => boolean, timeoutMs?: number): Promise<Sample[]>;
  /** What Prometheus wrote to stderr (its log), for failure messages. */
  log(): string;
  /** Kills Prometheus and removes its temp dir. */
  stop(): Promise<void>;
}

const DEFAULT_BINARY = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
const POLL_MS = 250;
const LOG_LIMIT = 64 * 1024;

export async function startPrometheus(opts: PrometheusOptions = {}): Promise<Prometheus> {
  if (!opts.binary && !process.env.PROMETHEUS_BIN) requirePrograms('Prometheus', ['prometheus']);
  const dir = await mkdtemp(join(tmpdir(), 'veloz-prometheus-'));
  try {
    const sdFile = join(dir, 'targets.json');
    let targets: readonly PrometheusTarget[] = opts.targets ?? [];
    await writeTargets(sdFile, targets);
    await writeFile(join(dir, 'prometheus.yml'), config(opts, sdFile));
    // The free port is found by binding and releasing it, so another process can take it in between: retry.
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      const child = spawn(
        opts.binary ?? DEFAULT_BINARY,
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--log.level=warn',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      killOnExit(child);
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        stderr = (stderr + d).slice(-LOG_LIMIT);
      });
      const url = `http://127.0.0.1:${port}`;
      try {
        await waitReady(child, url, opts.startTimeoutMs ?? 15_000, () => stderr);
      } catch (err) {
        lastError = err;
        await kill(child);
        continue;
      }
      return handle(child, url, port, dir, sdFile, () => stderr, {
        get: () => targets,
        set: (t) => (targets = t),
      });
    }
    throw lastError;
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

function handle(
  child: ChildProcess,
  url: string,
  port: number,
  dir: string,
  sdFile: string,
  log: () => string,
  targets: { get(): readonly PrometheusTarget[]; set(t: readonly PrometheusTarget[]): void },
): Prometheus {
  // A crashed test must not leave Prometheus running.
  const onExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', onExit);
  let stopped = false;

  const api = async (path: string, params: Record<string, string>): Promise<unknown> => {
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
    });
    const body = (await res.json()) as { status: string; data?: unknown; error?: string; errorType?: string };
    if (body.status !== 'success') {
      throw new Error(`Prometheus ${path} ${params.query ?? ''}: ${body.errorType ?? res.status}: ${body.error ?? ''}`);
    }
    return body.data;
  };

  const query = async (promql: string, time?: Date | number): Promise<Sample[]> => {
    const params: Record<string, string> = { query: promql };
    if (time !== undefined) params.time = String(seconds(time));
    const data = (await api('/api/v1/query', params)) as { resultType: string; result: unknown };
    if (data.resultType === 'scalar') {
      const [t, v] = data.result as [number, string];
      return [{ metric: {}, time: t, value: num(v) }];
    }
    if (data.resultType !== 'vector')
      throw new Error(`expected an instant vector from ${promql}, got ${data.resultType}`);
    return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((r) => ({
      metric: r.metric,
      time: r.value[0],
      value: num(r.value[1]),
    }));
  };

  const waitFor = async (promql: string, accept: (s: Sample[]) => boolean, timeoutMs = 30_000): Promise<Sample[]> => {
    const deadline = Date.now() + timeoutMs;
    let last: Sample[];
    for (;;) {
      last = await query(promql);
      if (accept(last)) return last;
      if (Date.now() > deadline) {
        throw new Error(
          `timed out after ${timeoutMs}ms waiting on ${promql}; last result ${JSON.stringify(last)}\n` +
            `prometheus log:\n${log()}`,
        );
      }
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}):\n${log()}`);
      await sleep(POLL_MS);
    }
  };

  return {
    url,
    port,
    dataDir: dir,
    query,
    async queryValue(promql, time) {
      const samples = await query(promql, time);
      if (samples.length > 1) throw new Error(`${promql} returned ${samples.length} series, expected one`);
      return samples[0]?.value;
    },
    async queryRange(promql, range) {
      const data = (await api('/api/v1/query_range', {
        query: promql,
        start: String(seconds(range.start)),
        end: String(seconds(range.end)),
        step: String(range.stepSeconds),
      })) as { result: { metric: Record<string, string>; values: [number, string][] }[] };
      return data.result.map((r) => ({ metric: r.metric, values: r.values.map(([t, v]) => [t, num(v)]) }));
    },
    async setTargets(next) {
      targets.set(next);
      await writeTargets(sdFile, next);
    },
    waitForTargetsUp(timeoutMs = 30_000) {
      const want = new Set(targets.get().map((t) => t.address));
      return waitFor(
        'up',
        (samples) => {
          const up = new Set(samples.filter((s) => s.value === 1).map((s) => s.metric.instance));
          return [...want].every((a) => up.has(a));
        },
        timeoutMs,
      );
    },
    waitFor,
    log,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', onExit);
      await kill(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function config(opts: PrometheusOptions, sdFile: string): string {
  const interval = opts.scrapeInterval ?? '1s';
  // JSON is valid YAML: no need for a YAML writer.
  return JSON.stringify({
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    scrape_configs: [
      {
        job_name: opts.jobName ?? 'veloz',
        file_sd_configs: [{ files: [sdFile], refresh_interval: '1s' }],
      },
    ],
    ...(opts.ruleFiles?.length ? { rule_files: opts.ruleFiles } : {}),
  });
}

async function writeTargets(file: string, targets: readonly PrometheusTarget[]): Promise<void> {
  const doc = targets.map((t) => ({
    targets: [t.address],
    labels: { ...t.labels, ...(t.metricsPath ? { __metrics_path__: t.metricsPath } : {}) },
  }));
  // Write then rename, so Prometheus never reads a half-written file.
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify(doc));
  await rename(tmp, file);
}

async function waitReady(child: ChildProcess, url: string, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`prometheus exited (${child.exitCode ?? child.signalCode}) before becoming ready:\n${log()}`);
    }
    try {
      const res = await fetch(`${url}/-/ready`);
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`prometheus not ready after ${timeoutMs}ms:\n${log()}`);
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

function seconds(t: Date | number): number {
  return (t instanceof Date ? t.getTime() : t) / 1000;
}

function num(v: string): number {
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  return Number(v);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
