/**
 * A client fleet, as VeloZ's users look to a deployment: N long-lived market-data streams (WebSocket
 * or SSE) that reconnect whenever they are closed, plus a steady rate of short API requests, all
 * through one URL (a Gateway's listener, a Service proxy). It records what users feel: reconnects per
 * client and which pod each stream was on, failed requests with their reasons, and the share of
 * responses per version and per pod (X-Veloz-Version, X-Veloz-Pod). Tests, the demo and the bench
 * all use it, so it has no test-framework imports. Every connection and request has a deadline.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';

export interface FleetOptions {
  /** Base URL, e.g. `http://127.0.0.1:PORT` of a Gateway listener. */
  url: string;
  /** Long-lived stream clients (0 for none). */
  clients: number;
  /** `ws`: WebSocket on `/ws/market`; `sse`: Server-Sent Events on `/api/stream`. */
  kind: 'ws' | 'sse';
  /** Short GET requests per second across the fleet (0 for none). */
  requestsPerSecond: number;
  /** Deadline of each request and of each stream's connect + handshake (default 5000 ms). */
  timeoutMs?: number;
  /** A stream with no message for this long counts as dropped and reconnects (default 10000 ms). */
  idleMs?: number;
  /** Path of the short requests (default `/api/market`). */
  requestPath?: string;
  /** Path of the streams (default `/ws/market` or `/api/stream`). */
  streamPath?: string;
  /** Reconnect back-off: starts at `min`, doubles per failed attempt up to `max` (default 25..500 ms). */
  backoffMs?: { min: number; max: number };
  /** `startFleet` resolves once every client is connected, within this (default 15 s; 0: do not wait). */
  connectWithinMs?: number;
}

/** One stream connection of a client: the pod and version that answered the handshake, and when. */
export interface ConnectionSpan {
  pod: string;
  version: string;
  openedAt: number;
  /** Undefined while it is still open. */
  closedAt?: number;
  /** Why it ended (close code, error, idle, stopped). */
  closeReason?: string;
}

export interface ClientReport {
  id: number;
  /** Times an established stream ended and the client had to reconnect (since the last reset). */
  reconnects: number;
  /** Connection attempts that failed (refused, non-101/200 answer, timeout), each retried. */
  failedAttempts: number;
  connections: ConnectionSpan[];
  connected: boolean;
}

export interface FailureCount {
  /** `HTTP 503`, `timeout`, `ECONNRESET`, ... */
  reason: string;
  count: number;
  /** The first such failure's detail (status body or error message). */
  example: string;
}

export interface FleetReport {
  /** Window start (start or last reset) and end, ms since epoch. */
  since: number;
  at: number;
  clients: ClientReport[];
  reconnects: { total: number; mean: number; max: number; clientsReconnectingMoreThanOnce: number };
  requests: { total: number; ok: number; failed: number; failures: FailureCount[] };
  /** Share (0..1) of successful responses per X-Veloz-Version / X-Veloz-Pod, and their counts. */
  share: { byVersion: Record<string, number>; byPod: Record<string, number> };
  counts: { byVersion: Record<string, number>; byPod: Record<string, number> };
  /** Stream handshakes per version (which version new connections landed on). */
  streamsByVersion: Record<string, number>;
}

export interface Fleet {
  report(): FleetReport;
  /** Starts a new measuring window: counts, failures and connection histories (open ones are kept). */
  resetCounters(): void;
  /** Resolves once every client has an open stream (or rejects after timeoutMs, naming the last errors). */
  waitConnected(timeoutMs?: number): Promise<void>;
  /** Closes every stream and waits (bounded) for in-flight requests. */
  stop(): Promise<void>;
}

const header = (res: IncomingMessage, name: string): string => {
  const v = res.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? 'unknown';
};

/** A long-lived stream client that reconnects on close with a small bounded back-off. */
class StreamClient {
  reconnects = 0;
  failedAttempts = 0;
  connections: ConnectionSpan[] = [];
  lastError = '';
  private current: ConnectionSpan | undefined;
  private close: (() => void) | undefined;
  private retry: NodeJS.Timeout | undefined;
  private backoff: number;
  private stopped = false;

  constructor(
    readonly id: number,
    private readonly o: Required<Omit<FleetOptions, 'connectWithinMs'>>,
    private readonly onOpen: (version: string) => void,
  ) {
    this.backoff = o.backoffMs.min;
  }

  get connected(): boolean {
    return !!this.current;
  }

  start(): void {
    if (this.stopped) return;
    const target = new URL(this.o.streamPath, this.o.url);
    if (this.o.kind === 'ws') this.openWs(target);
    else this.openSse(target);
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.close?.();
    this.ended('stopped');
  }

  reset(): void {
    this.reconnects = 0;
    this.failedAttempts = 0;
    this.connections = this.current ? [this.current] : [];
  }

  private opened(pod: string, version: string): void {
    this.current = { pod, version, openedAt: Date.now() };
    this.connections.push(this.current);
    this.backoff = this.o.backoffMs.min;
    this.onOpen(version);
  }

  /** The stream (or the attempt) is over: count it, then reconnect after the back-off. */
  private ended(reason: string): void {
    if (this.current) {
      this.current.closedAt = Date.now();
      this.current.closeReason = reason;
      this.current = undefined;
      if (!this.stopped) this.reconnects++;
    } else if (!this.stopped && reason !== 'stopped') {
      this.failedAttempts++;
      this.lastError = reason;
      this.backoff = Math.min(this.o.backoffMs.max, this.backoff * 2);
    }
    this.close = undefined;
    if (this.stopped || this.retry) return;
    const wait = this.backoff * (0.5 + Math.random() / 2);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.start();
    }, wait);
  }

  /** A stream that goes quiet for idleMs is treated as dropped: `touch` on every message, `clear` at the end. */
  private idleGuard(onIdle: () => void): { touch: () => void; clear: () => void } {
    let timer = setTimeout(onIdle, this.o.idleMs);
    return {
      touch: () => {
        clearTimeout(timer);
        timer = setTimeout(onIdle, this.o.idleMs);
      },
      clear: () => clearTimeout(timer),
    };
  }

  private openWs(target: URL): void {
    target.protocol = 'ws:';
    const ws = new WebSocket(target, { handshakeTimeout: this.o.timeoutMs });
    let done = false;
    let idle: { touch: () => void; clear: () => void } | undefined;
    const finish = (reason: string): void => {
      if (done) return;
      done = true;
      idle?.clear();
      ws.terminate();
      this.ended(reason);
    };
    this.close = () => {
      done = true;
      idle?.clear();
      ws.terminate();
    };
    let pod = 'unknown';
    let version = 'unknown';
    ws.on('upgrade', (res) => {
      pod = header(res, 'x-veloz-pod');
      version = header(res, 'x-veloz-version');
    });
    ws.on('unexpected-response', (_req, res) => finish(`HTTP ${res.statusCode ?? 0}`));
    ws.on('open', () => {
      this.opened(pod, version);
      idle = this.idleGuard(() => finish(`idle ${this.o.idleMs} ms`));
      ws.on('message', () => idle?.touch());
    });
    ws.on('error', (err) => finish((err as NodeJS.ErrnoException).code ?? err.message));
    ws.on('close', (code) => finish(`close ${code}`));
  }

  private openSse(target: URL): void {
    let done = false;
    let idle: { touch: () => void; clear: () => void } | undefined;
    const req: ClientRequest = httpRequest(target, { headers: { accept: 'text/event-stream' }, agent: false });
    const deadline = setTimeout(() => finish(`timeout ${this.o.timeoutMs} ms`), this.o.timeoutMs);
    const finish = (reason: string): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      idle?.clear();
      req.destroy();
      this.ended(reason);
    };
    this.close = () => {
      done = true;
      clearTimeout(deadline);
      idle?.clear();
      req.destroy();
    };
    req.on('response', (res) => {
      clearTimeout(deadline);
      if (res.statusCode !== 200) {
        res.resume();
        return finish(`HTTP ${res.statusCode ?? 0}`);
      }
      this.opened(header(res, 'x-veloz-pod'), header(res, 'x-veloz-version'));
      idle = this.idleGuard(() => finish(`idle ${this.o.idleMs} ms`));
      res.on('data', () => idle?.touch());
      res.on('end', () => finish('stream ended'));
      res.on('error', (err) => finish((err as NodeJS.ErrnoException).code ?? err.message));
      res.on('close', () => finish('stream closed'));
    });
    req.on('error', (err) => finish((err as NodeJS.ErrnoException).code ?? err.message));
    req.end();
  }
}

/** Short GETs at a steady rate; each one's version and pod, or its failure, is counted. */
class RequestStream {
  total = 0;
  ok = 0;
  byVersion: Record<string, number> = {};
  byPod: Record<string, number> = {};
  failures = new Map<string, FailureCount>();
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private started = Date.now();
  private launched = 0;

  constructor(private readonly o: Required<Omit<FleetOptions, 'connectWithinMs'>>) {}

  start(): void {
    if (this.o.requestsPerSecond <= 0) return;
    this.started = Date.now();
    this.launched = 0;
    // A fine tick that launches what is due keeps the rate exact whatever the timer jitter.
    this.timer = setInterval(() => {
      const due = Math.floor(((Date.now() - this.started) / 1000) * this.o.requestsPerSecond);
      for (; this.launched < due; this.launched++) this.launch();
    }, 10);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.inFlight]);
  }

  reset(): void {
    this.total = 0;
    this.ok = 0;
    this.byVersion = {};
    this.byPod = {};
    this.failures.clear();
  }

  private fail(reason: string, example: string): void {
    const f = this.failures.get(reason) ?? { reason, count: 0, example };
    f.count++;
    this.failures.set(reason, f);
  }

  private launch(): void {
    const p = new Promise<void>((resolve) => {
      let settled = false;
      const settle = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        this.total++;
        outcome();
        resolve();
      };
      // A fresh connection per request: keep-alive races with the server's idle close would count as failures.
      const req = httpRequest(new URL(this.o.requestPath, this.o.url), { agent: false });
      const deadline = setTimeout(() => {
        settle(() => this.fail('timeout', `no answer within ${this.o.timeoutMs} ms`));
        req.destroy();
      }, this.o.timeoutMs);
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          settle(() => {
            const code = res.statusCode ?? 0;
            if (code < 200 || code > 299)
              return this.fail(`HTTP ${code}`, Buffer.concat(chunks).toString('utf8').slice(0, 300));
            this.ok++;
            const version = header(res, 'x-veloz-version');
            const pod = header(res, 'x-veloz-pod');
            this.byVersion[version] = (this.byVersion[version] ?? 0) + 1;
            this.byPod[pod] = (this.byPod[pod] ?? 0) + 1;
          }),
        );
        res.on('error', (err) => settle(() => this.fail((err as NodeJS.ErrnoException).code ?? 'error', err.message)));
      });
      req.on('error', (err) => settle(() => this.fail((err as NodeJS.ErrnoException).code ?? 'error', err.message)));
      req.end();
    });
    this.inFlight.add(p);
    void p.then(() => this.inFlight.delete(p));
  }
}

const shares = (counts: Record<string, number>): Record<string, number> => {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return Object.fromEntries(Object.entries(counts).map(([k, n]) => [k, total ? n / total : 0]));
};

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const o = {
    timeoutMs: 5000,
    idleMs: 10_000,
    requestPath: '/api/market',
    streamPath: options.kind === 'ws' ? '/ws/market' : '/api/stream',
    backoffMs: { min: 25, max: 500 },
    ...options,
  };
  let since = Date.now();
  let streamsByVersion: Record<string, number> = {};
  const clients = Array.from(
    { length: o.clients },
    (_, i) => new StreamClient(i, o, (v) => (streamsByVersion[v] = (streamsByVersion[v] ?? 0) + 1)),
  );
  const requests = new RequestStream(o);
  for (const c of clients) c.start();
  requests.start();

  const waitConnected = async (timeoutMs = 15_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!clients.every((c) => c.connected)) {
      if (Date.now() > deadline) {
        const waiting = clients.filter((c) => !c.connected);
        throw new Error(
          `${waiting.length} of ${clients.length} fleet clients not connected to ${o.url} within ${timeoutMs} ms` +
            ` (last error: ${waiting.find((c) => c.lastError)?.lastError || 'none'})`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const stop = async (): Promise<void> => {
    for (const c of clients) c.stop();
    await requests.stop();
  };
  const fleet: Fleet = {
    report: () => {
      const perClient = clients.map((c) => c.reconnects);
      const total = perClient.reduce((a, b) => a + b, 0);
      return {
        since,
        at: Date.now(),
        clients: clients.map((c) => ({
          id: c.id,
          reconnects: c.reconnects,
          failedAttempts: c.failedAttempts,
          connections: c.connections.map((s) => ({ ...s })),
          connected: c.connected,
        })),
        reconnects: {
          total,
          mean: clients.length ? total / clients.length : 0,
          max: Math.max(0, ...perClient),
          clientsReconnectingMoreThanOnce: perClient.filter((n) => n > 1).length,
        },
        requests: {
          total: requests.total,
          ok: requests.ok,
          failed: requests.total - requests.ok,
          failures: [...requests.failures.values()].map((f) => ({ ...f })),
        },
        share: { byVersion: shares(requests.byVersion), byPod: shares(requests.byPod) },
        counts: { byVersion: { ...requests.byVersion }, byPod: { ...requests.byPod } },
        streamsByVersion: { ...streamsByVersion },
      };
    },
    resetCounters: () => {
      since = Date.now();
      streamsByVersion = {};
      for (const c of clients) c.reset();
      requests.reset();
    },
    waitConnected,
    stop,
  };
  if (options.connectWithinMs !== 0 && clients.length > 0) {
    try {
      await waitConnected(options.connectWithinMs ?? 15_000);
    } catch (err) {
      await stop();
      throw err;
    }
  }
  return fleet;
}
