/** The engine's HTTP surface: health probes, trading API, streams and metrics, with the profile's faults. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Behaviour } from './behaviour';
import type { EvenHits, LatencySampler } from './latency';
import type { EngineLog } from './logs';
import { snapshot } from './market';
import { METRICS_CONTENT_TYPE, type ApiRoute, type EngineMetrics } from './metrics';
import { InvalidOrder, validateOrder, type OrderBook } from './orders';
import type { MarketStreams } from './streams';
import { readLimitedBody } from '../util';

/** What the HTTP side needs of an engine (engine.ts's Engine), declared here so engine.ts alone imports the other. */
interface Engine {
  readonly config: { readonly podName: string; readonly testToken: string };
  readonly version: string;
  readonly startedAt: number;
  readonly marketPhase: number;
  readonly behaviour: Behaviour;
  readonly metrics: EngineMetrics;
  readonly log: EngineLog;
  readonly orders: OrderBook;
  readonly streams: MarketStreams;
  readonly realLatency: LatencySampler;
  readonly realErrors: EvenHits;
  starting(now: number): boolean;
  trackInFlight(delta: 1 | -1): void;
  renderMetrics(now: number): string;
  later(ms: number, fn: () => void): void;
}

const MAX_BODY_BYTES = 64 * 1024;

type Handler = (engine: Engine, req: IncomingMessage, res: ServerResponse, now: number) => void | Promise<void>;

interface Route {
  method: 'GET' | 'POST';
  handler: Handler;
  /** Instrumented API route: counted in the metrics and subject to error-rate and p99 faults. */
  api?: ApiRoute;
}

const ROUTES: Record<string, Route> = {
  '/health': { method: 'GET', handler: health },
  '/health/ready': { method: 'GET', handler: ready },
  '/health/startup': { method: 'GET', handler: startup },
  '/metrics': { method: 'GET', handler: metrics },
  '/api/market': { method: 'GET', handler: market, api: '/api/market' },
  '/api/orders_state': { method: 'GET', handler: ordersState, api: '/api/orders_state' },
  '/api/order': { method: 'POST', handler: placeOrder, api: '/api/order' },
  '/api/stream': { method: 'GET', handler: stream, api: '/api/stream' },
};

export function createEngineServer(engine: Engine): Server {
  const server = createServer((req, res) => {
    handle(engine, req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'internal', message: String(err) });
      else res.destroy();
    });
  });
  server.on('upgrade', (req, socket, head) => upgrade(engine, req, socket, head));
  return server;
}

async function handle(engine: Engine, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const now = Date.now();
  const path = new URL(req.url ?? '/', 'http://engine').pathname;
  res.setHeader('X-Veloz-Pod', engine.config.podName);
  res.setHeader('X-Veloz-Version', engine.version);
  const route = ROUTES[path];
  if (!route) return sendJson(res, 404, { error: 'not_found', message: `no route for ${path}` });
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  if (method !== route.method) {
    res.setHeader('Allow', route.method === 'GET' ? 'GET, HEAD' : route.method);
    return sendJson(res, 405, { error: 'method_not_allowed', message: `${req.method} is not allowed on ${path}` });
  }
  if (!route.api) return route.handler(engine, req, res, now);

  const api = route.api;
  if (api === '/api/stream') {
    // Streams are judged by `sse=`, not error-rate or p99; counted once, at open, so a long-lived stream
    // does not pose as a slow request in the latency histogram.
    route.handler(engine, req, res, now);
    engine.metrics.observe(api, 200, (Date.now() - now) / 1000);
    return;
  }
  engine.trackInFlight(1);
  res.once('close', () => engine.trackInFlight(-1));
  res.once('finish', () => engine.metrics.observe(api, res.statusCode, (Date.now() - now) / 1000));

  // Read the body before any delay so a slow response is slow to answer, not slow to accept.
  let body: Buffer | undefined;
  try {
    body =
      req.method === 'POST'
        ? await readLimitedBody(
            req,
            MAX_BODY_BYTES,
            () => new Error(`request body larger than ${MAX_BODY_BYTES} bytes`),
          )
        : undefined;
  } catch (err) {
    return sendJson(res, 413, { error: 'payload_too_large', message: (err as Error).message });
  }
  if (body) (req as IncomingMessage & { body?: Buffer }).body = body;
  const faults = engine.behaviour.active(now);
  const rng = engine.behaviour.random;
  const fail =
    faults?.errorRate !== undefined && (rng ? rng.next() < faults.errorRate : engine.realErrors.hit(faults.errorRate));
  const respond = (): void => {
    if (fail) {
      engine.log.write('ERROR', 'http', `${req.method} ${path} -> 500: internal error (upstream timeout)`);
      sendJson(res, 500, { error: 'internal', message: 'internal error: upstream timeout' });
      return;
    }
    Promise.resolve(route.handler(engine, req, res, Date.now())).catch(() => res.destroy());
  };
  if (faults?.p99Ms === undefined) return respond();
  const delayMs =
    (rng ? engine.behaviour.randomLatency(now, rng) : engine.realLatency.next(engine.behaviour.latency(now))) * 1000;
  engine.later(delayMs, respond);
}

function health(engine: Engine, _req: IncomingMessage, res: ServerResponse, now: number): void {
  if (engine.behaviour.active(now)?.health === 'fail') {
    return sendJson(res, 503, { status: 'unhealthy', message: 'event loop stalled: matching engine heartbeat missed' });
  }
  sendJson(res, 200, { status: 'healthy', version: engine.version, uptime_seconds: uptime(engine, now) });
}

function startup(engine: Engine, _req: IncomingMessage, res: ServerResponse, now: number): void {
  if (engine.behaviour.active(now)?.health === 'fail') {
    return sendJson(res, 503, { status: 'failed', message: 'startup checks failing' });
  }
  if (engine.starting(now)) return sendJson(res, 503, { status: 'starting' });
  sendJson(res, 200, { status: 'started', version: engine.version });
}

function ready(engine: Engine, _req: IncomingMessage, res: ServerResponse, now: number): void {
  if (engine.starting(now)) return sendJson(res, 503, { status: 'starting' });
  if (engine.behaviour.active(now)?.ready === 'fail') {
    return sendJson(res, 503, {
      status: 'not_ready',
      checks: { database: 'ok', redis: 'timeout', market_data: 'ok' },
      message: 'redis: no reply from sentinel master within 2s',
    });
  }
  sendJson(res, 200, { status: 'ready', checks: { database: 'ok', redis: 'ok', market_data: 'ok' } });
}

function metrics(engine: Engine, _req: IncomingMessage, res: ServerResponse, now: number): void {
  const body = engine.renderMetrics(now);
  res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function market(engine: Engine, _req: IncomingMessage, res: ServerResponse, now: number): void {
  sendJson(res, 200, {
    status: 'ok',
    version: engine.version,
    pod: engine.config.podName,
    quotes: snapshot(now, engine.marketPhase),
    ts: new Date(now).toISOString(),
  });
}

function ordersState(engine: Engine, _req: IncomingMessage, res: ServerResponse): void {
  sendJson(res, 200, engine.orders.state());
}

function placeOrder(engine: Engine, req: IncomingMessage, res: ServerResponse, now: number): void {
  if (!authorized(req, engine.config.testToken)) {
    engine.log.write('WARN', 'http', 'POST /api/order -> 401: missing or invalid bearer token', now);
    res.setHeader('WWW-Authenticate', 'Bearer realm="veloz"');
    return sendJson(res, 401, {
      error: 'unauthorized',
      message: 'Authorization: Bearer <token> is required and must be valid',
    });
  }
  const raw = (req as IncomingMessage & { body?: Buffer }).body;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw?.toString('utf8') ?? '');
  } catch {
    return sendJson(res, 400, { error: 'invalid_json', message: 'request body must be JSON' });
  }
  let order;
  try {
    order = validateOrder(parsed);
  } catch (err) {
    if (!(err instanceof InvalidOrder)) throw err;
    return sendJson(res, 400, { error: 'invalid_order', field: err.field, message: err.message });
  }
  const faults = engine.behaviour.active(now);
  if (faults?.orders === 'reject') {
    engine.log.write(
      'WARN',
      'risk',
      `rejected order ${order.side} ${order.qty} ${order.symbol}: risk limits unavailable`,
      now,
    );
    return sendJson(res, 422, {
      error: 'order_rejected',
      message: 'order rejected by risk check: risk limits unavailable',
    });
  }
  if (faults?.orders === 'error') {
    engine.log.write(
      'ERROR',
      'order-router',
      `order ${order.side} ${order.qty} ${order.symbol} failed: exchange gateway unreachable`,
      now,
    );
    return sendJson(res, 500, { error: 'internal', message: 'order routing failed: exchange gateway unreachable' });
  }
  const accepted = engine.orders.add(order, now);
  engine.log.write(
    'INFO',
    'order',
    `accepted ${accepted.order_id} ${order.side} ${order.qty} ${order.symbol} @ ${order.price}`,
    now,
  );
  sendJson(res, 200, accepted);
}

function stream(engine: Engine, req: IncomingMessage, res: ServerResponse, now: number): void {
  engine.streams.openSse(req, res, engine.behaviour.active(now)?.sse === 'silent', now);
}

function upgrade(engine: Engine, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.on('error', () => socket.destroy());
  const now = Date.now();
  const path = new URL(req.url ?? '/', 'http://engine').pathname;
  if (path !== '/ws/market') return rejectUpgrade(socket, 404, 'Not Found', `no WebSocket endpoint at ${path}`);
  if (engine.behaviour.active(now)?.ws === 'refuse') {
    return rejectUpgrade(socket, 503, 'Service Unavailable', 'market data gateway unavailable');
  }
  engine.streams.acceptWebSocket(req, socket, head, now);
}

function rejectUpgrade(socket: Duplex, code: number, reason: string, message: string): void {
  const body = JSON.stringify({ error: reason.toLowerCase().replace(/ /g, '_'), message });
  socket.end(
    `HTTP/1.1 ${code} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `Connection: close\r\n\r\n${body}`,
  );
}

function authorized(req: IncomingMessage, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  return m !== null && token !== '' && m[1]?.trim() === token;
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function uptime(engine: Engine, now: number): number {
  return Math.round((now - engine.startedAt) / 1000);
}
