/**
 * One Gateway's data plane: an HTTP listener on 127.0.0.1 that proxies each request, SSE stream and
 * WebSocket upgrade to the pod its routes choose, with a deadline on every hop, and drops a proxied
 * connection as soon as its pod goes away.
 */
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RequestFacts } from './routing';

export interface GatewayTimeouts {
  /** Until the upstream answers: response headers, or the WebSocket handshake's first bytes. */
  responseMs: number;
  /** A proxied connection with no traffic either way for this long is closed (Envoy's stream idle default). */
  idleMs: number;
}

export const DEFAULT_GATEWAY_TIMEOUTS: GatewayTimeouts = { responseMs: 30_000, idleMs: 300_000 };

/** The pod a request was sent to; `alive()` reads live state (pod object, kubelet runtime). */
export interface Upstream {
  port: number;
  namespace: string;
  pod: string;
  alive(): boolean;
}

export type Resolution =
  | { ok: true; upstream: Upstream; headers: IncomingHttpHeaders }
  | { ok: false; code: number; error: string; message: string };

// Hop-by-hop headers (RFC 9110 §7.6.1) are the proxy's own, never forwarded.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function forwardable(headers: IncomingHttpHeaders, keep: string[] = []): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers))
    if (v !== undefined && (!HOP_BY_HOP.has(k) || keep.includes(k))) out[k] = v;
  return out;
}

const facts = (req: IncomingMessage): RequestFacts => {
  const url = new URL(req.url ?? '/', 'http://gateway');
  return { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers };
};

const errorBody = (error: string, message: string): string => JSON.stringify({ error, message });

interface Tracked {
  upstream: Upstream;
  drop(): void;
}

export class GatewayListener {
  readonly server: Server;
  port = 0;
  private readonly sockets = new Set<Socket>();
  private readonly tracked = new Set<Tracked>();

  constructor(
    /** `namespace/name`, named in error bodies. */
    readonly gateway: string,
    private readonly resolve: (req: RequestFacts) => Resolution,
    private readonly timeouts: GatewayTimeouts,
  ) {
    this.server = createServer((req, res) => this.proxyRequest(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.proxyUpgrade(req, socket, head),
    );
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server.keepAliveTimeout = 5_000;
    this.server.headersTimeout = 10_000;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Proxied requests and streams open right now. */
  get connections(): number {
    return this.tracked.size;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this.port;
  }

  close(): Promise<void> {
    for (const t of this.tracked) t.drop();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  /** Drops every proxied connection whose pod is gone (deleted, terminated, its container killed). */
  sweep(): void {
    for (const t of this.tracked) if (!t.upstream.alive()) t.drop();
  }

  private track(upstream: Upstream, drop: () => void): () => void {
    const entry: Tracked = {
      upstream,
      drop: () => {
        this.tracked.delete(entry);
        drop();
      },
    };
    this.tracked.add(entry);
    return () => this.tracked.delete(entry);
  }

  private proxyRequest(req: IncomingMessage, res: ServerResponse): void {
    const r = this.resolve(facts(req));
    if (!r.ok) return this.answer(res, r.code, r.error, r.message);
    const { upstream } = r;
    const headers = {
      ...forwardable(r.headers),
      host: `127.0.0.1:${upstream.port}`,
      'x-forwarded-for': req.socket.remoteAddress ?? '127.0.0.1',
      'x-forwarded-proto': 'http',
    };
    // A new connection per request: a pooled one to a pod that just went away would fail a request.
    const up = httpRequest({
      host: '127.0.0.1',
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers,
      agent: false,
    });
    const deadline = setTimeout(
      () =>
        up.destroy(
          new Error(`pod ${upstream.namespace}/${upstream.pod} did not answer within ${this.timeouts.responseMs} ms`),
        ),
      this.timeouts.responseMs,
    );
    const untrack = this.track(upstream, () => {
      up.destroy();
      res.destroy();
    });
    up.setTimeout(this.timeouts.idleMs, () => up.destroy(new Error(`idle for ${this.timeouts.idleMs} ms`)));
    up.on('response', (answer) => {
      clearTimeout(deadline);
      res.writeHead(answer.statusCode ?? 502, forwardable(answer.headers));
      res.flushHeaders();
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    up.on('error', (err) => {
      clearTimeout(deadline);
      if (res.headersSent) return void res.destroy();
      const timedOut = err.message.includes('did not answer');
      this.answer(
        res,
        timedOut ? 504 : 502,
        timedOut ? 'upstream_timeout' : 'upstream_unreachable',
        `${this.gateway}: ${timedOut ? '' : `pod ${upstream.namespace}/${upstream.pod}: `}${err.message}`,
      );
    });
    res.on('close', () => {
      clearTimeout(deadline);
      untrack();
      up.destroy();
    });
    req.pipe(up);
  }

  private proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const r = this.resolve(facts(req));
    if (!r.ok) return void socket.end(rawAnswer(r.code, r.error, r.message));
    const { upstream } = r;
    const up = connect(upstream.port, '127.0.0.1');
    let answered = false;
    const deadline = setTimeout(() => {
      if (!answered)
        socket.end(
          rawAnswer(
            504,
            'upstream_timeout',
            `${this.gateway}: pod ${upstream.namespace}/${upstream.pod} did not answer the upgrade within ${this.timeouts.responseMs} ms`,
          ),
        );
      up.destroy();
    }, this.timeouts.responseMs);
    const drop = (): void => {
      clearTimeout(deadline);
      up.destroy();
      socket.destroy();
    };
    const untrack = this.track(upstream, drop);
    up.setTimeout(this.timeouts.idleMs, drop);
    up.on('connect', () => {
      const headers = { ...forwardable(r.headers, ['connection', 'upgrade']), host: `127.0.0.1:${upstream.port}` };
      const lines = [`${req.method ?? 'GET'} ${req.url ?? '/'} HTTP/1.1`];
      for (const [k, v] of Object.entries(headers)) for (const one of [v].flat()) lines.push(`${k}: ${one}`);
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    up.once('data', () => {
      answered = true;
      clearTimeout(deadline);
    });
    up.on('error', (err) => {
      clearTimeout(deadline);
      if (!answered) {
        answered = true;
        socket.end(
          rawAnswer(
            502,
            'upstream_unreachable',
            `${this.gateway}: pod ${upstream.namespace}/${upstream.pod}: ${err.message}`,
          ),
        );
      } else socket.destroy();
    });
    up.on('close', () => {
      untrack();
      if (answered) socket.destroy();
    });
    socket.on('close', () => {
      untrack();
      clearTimeout(deadline);
      up.destroy();
    });
  }

  private answer(res: ServerResponse, code: number, error: string, message: string): void {
    const body = errorBody(error, message);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }
}

function rawAnswer(code: number, error: string, message: string): string {
  const body = errorBody(error, message);
  const reason =
    {
      404: 'Not Found',
      500: 'Internal Server Error',
      502: 'Bad Gateway',
      503: 'Service Unavailable',
      504: 'Gateway Timeout',
    }[code] ?? 'Error';
  return `HTTP/1.1 ${code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}
