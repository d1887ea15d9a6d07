/**
 * The VeloZ engine double behind every sandbox pod: health probes, trading API, SSE and WebSocket streams,
 * Prometheus metrics with steady synthetic traffic, engine-like logs, and the `degrade` profile's faults.
 */
import type { DegradeSpec } from './degrade';
import { Engine } from './engine';
import type { LogEntry } from './logs';
import { scrapeTargets, type ScrapeTarget } from './targets';

export { parseDegrade, formatDegrade, parseDuration, type DegradeSpec } from './degrade';
export { LATENCY_BUCKETS } from './latency';
export { API_ROUTES, type ApiRoute } from './metrics';
export type { LogEntry } from './logs';
export { scrapeTargets, fileSdDocument, promLabelName, type ScrapeSource, type ScrapeTarget } from './targets';

export interface EngineOptions {
  namespace: string;
  podName: string;
  image: string;
  /** The bearer token `POST /api/order` requires. */
  testToken: string;
  /** Profile applied at start; `after=` counts from the start. Undefined: healthy. */
  behaviour?: DegradeSpec;
  /**
   * Background requests recorded into the metrics each second (default 50; 0 turns them off). 50/s puts ~30
   * observations a minute in the p99 tail, enough for `histogram_quantile` over `[1m]` to land within ~5%.
   */
  syntheticRequestsPerSecond?: number;
  /** Startup and readiness probes answer 503 for this long after start (default 0). */
  startupMs?: number;
  /** The pod's labels, carried into `scrapeTarget()`. */
  podLabels?: Record<string, string>;
}

export interface EngineHandle {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly namespace: string;
  readonly podName: string;
  readonly image: string;
  /** The image tag, reported as the engine version. */
  readonly version: string;
  /** The profile as set (its faults may still be waiting for `after`); undefined when healthy. */
  readonly behaviour: DegradeSpec | undefined;
  /** True while the profile's faults are in force. */
  readonly degraded: boolean;
  /** Open client connections (SSE and WebSocket streams, in-flight API requests): `veloz_active_connections`. */
  readonly activeConnections: number;
  /**
   * Change the profile on a running engine; `after=` counts from this call. Re-applying the profile the
   * engine already has is a no-op (its `after=` clock keeps running).
   */
  setBehaviour(spec: DegradeSpec | undefined): void;
  logs(opts?: { sinceSeconds?: number; tailLines?: number }): string[];
  /** Like `logs`, with each line's time (ms since epoch), for `timestamps=true`. */
  logEntries(opts?: { sinceSeconds?: number; tailLines?: number }): LogEntry[];
  /** Calls `onLine` for every line written from now on; returns the unsubscribe function. */
  followLogs(onLine: (line: string) => void): () => void;
  /** This engine's Prometheus scrape target, labelled with namespace, pod and the pod's labels. */
  scrapeTarget(): ScrapeTarget;
  /** Closes the server, every connection and stream, and cancels pending delayed responses. */
  stop(): Promise<void>;
}

const DEFAULT_SYNTHETIC_RPS = 50;

export async function startEngine(opts: EngineOptions): Promise<EngineHandle> {
  const engine = new Engine({
    namespace: opts.namespace,
    podName: opts.podName,
    image: opts.image,
    testToken: opts.testToken,
    behaviour: opts.behaviour,
    syntheticRequestsPerSecond: opts.syntheticRequestsPerSecond ?? DEFAULT_SYNTHETIC_RPS,
    startupMs: opts.startupMs ?? 0,
  });
  await engine.listen();
  const port = engine.port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    namespace: opts.namespace,
    podName: opts.podName,
    image: opts.image,
    version: engine.version,
    get behaviour() {
      return engine.behaviour.profile;
    },
    get degraded() {
      return engine.behaviour.active(Date.now()) !== undefined;
    },
    get activeConnections() {
      return engine.activeConnections;
    },
    setBehaviour: (spec) => engine.setBehaviour(spec),
    logs: (q) => engine.logs(q).map((e) => e.line),
    logEntries: (q) => engine.logs(q),
    followLogs: (onLine) => engine.log.follow(onLine),
    scrapeTarget: () =>
      scrapeTargets([
        { namespace: opts.namespace, podName: opts.podName, port, podLabels: opts.podLabels },
      ])[0] as ScrapeTarget,
    stop: () => engine.stop(),
  };
}
