/**
 * One HTTP client for every way validation reaches the engine: a plain URL, or the Kubernetes API server's
 * pods/proxy and services/proxy (bearer token, cluster CA, client certificate). node:http(s) rather than
 * global fetch, because fetch cannot take a custom CA or client certificate per request.
 *
 * Every request has a deadline and honours an abort signal; each uses its own socket (no keep-alive
 * agent), destroyed on abort, timeout or an over-long body, so nothing outlives a check.
 */
import { request as plainRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as tlsRequest } from 'node:https';
import { WebSocket } from 'ws';
import { describeConnectError } from '../faults';
import { formatBytes, formatDuration } from '../parse';

interface EndpointTls {
  /** PEM CA bundle to trust (e.g. the cluster CA). */
  ca?: string;
  /** PEM client certificate and key (kubeconfig client-certificate auth). */
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
}

export interface HttpEndpoint {
  /** Absolute http(s) URL; may carry a path prefix (`…/pods/p:8080/proxy`) that request paths are appended to. */
  baseUrl: string;
  /** Sent with every request (e.g. `Authorization: Bearer <service-account token>` for the API server). */
  headers?: Record<string, string>;
  tls?: EndpointTls;
  /**
   * The path to the engine removes the Authorization header: the Kubernetes API server authenticates the
   * caller with it and never forwards it through pods/proxy or services/proxy (kubernetes/kubernetes#38775),
   * so an engine bearer token (the order check's test token) cannot reach the engine this way.
   */
  dropsAuthorization?: boolean;
  /** How messages name it: "https://veloz.example.com" or "pod veloz-engine-x (pods/proxy)". */
  describe: string;
}

interface HttpRequestOptions {
  method?: string;
  /** Appended to the endpoint's base path; may include a query string. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Larger bodies fail the request (code EBODYTOOLARGE); default 1 MiB. */
  maxBodyBytes?: number;
}

export interface HttpResponse {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** From sending the request to the end of the body. */
  durationMs: number;
}

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Error bodies of streams and refused upgrades are read only this far: enough for a message. */
const SNIPPET_BYTES = 4096;

/** An endpoint for a plain URL; `describe` drops credentials and the query string. */
export function urlEndpoint(baseUrl: string, extra: Omit<HttpEndpoint, 'baseUrl' | 'describe'> = {}): HttpEndpoint {
  const u = new URL(baseUrl);
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/+$/, '');
  return { baseUrl, ...extra, describe: `${u.protocol}//${u.host}${path}` };
}

/** The endpoint's base URL with `path` (and its query) appended to the base path. */
export function endpointUrl(endpoint: HttpEndpoint, path: string): URL {
  const url = new URL(endpoint.baseUrl);
  const q = path.indexOf('?');
  const pathname = q >= 0 ? path.slice(0, q) : path;
  url.pathname = url.pathname.replace(/\/+$/, '') + (pathname.startsWith('/') ? pathname : `/${pathname}`);
  url.search = q >= 0 ? path.slice(q) : '';
  url.hash = '';
  return url;
}

export function httpRequest(endpoint: HttpEndpoint, opts: HttpRequestOptions): Promise<HttpResponse> {
  const max = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const started = performance.now();
  const headers = mergeHeaders(endpoint.headers, opts.headers);
  if (opts.body !== undefined && !hasHeader(headers, 'content-length')) {
    headers['content-length'] = String(Buffer.byteLength(opts.body));
  }
  return withinDeadline<HttpResponse>(
    opts,
    () => timeoutError(endpoint, opts.path, opts.timeoutMs),
    (settle) => {
      const req = send(endpoint, endpointUrl(endpoint, opts.path), { method: opts.method ?? 'GET', headers }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > max) settle.fail(tooLarge(endpoint, opts.path, max));
          else chunks.push(chunk);
        });
        res.on('end', () =>
          settle.ok({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            durationMs: performance.now() - started,
          }),
        );
        res.on('error', (err) => settle.fail(err));
        res.on('close', () => {
          if (!res.complete) settle.fail(connectionClosed(endpoint, opts.path));
        });
      });
      req.on('error', (err) => settle.fail(err));
      req.end(opts.body);
      return () => req.destroy();
    },
  );
}

interface EventStreamOptions {
  minEvents: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

interface EventStreamResult {
  /** Events dispatched (blocks with at least one `data:` line). */
  events: number;
  /** From the request to the first event. */
  firstEventMs?: number;
  /** Undefined when no response headers arrived in time. */
  status?: number;
  contentType?: string;
  /** The start of a non-2xx answer's body, for the message. */
  body?: string;
  /** The server closed the stream before `minEvents` arrived. */
  ended?: boolean;
}

/**
 * Listens to a Server-Sent Events stream until `minEvents` events arrived or `timeoutMs` passed; resolves
 * with what it saw either way (silence is an answer). Rejects only when the server cannot be reached or the
 * signal aborts.
 */
export function readEventStream(
  endpoint: HttpEndpoint,
  path: string,
  opts: EventStreamOptions,
): Promise<EventStreamResult> {
  const started = performance.now();
  const result: EventStreamResult = { events: 0 };
  const headers = mergeHeaders(endpoint.headers, { accept: 'text/event-stream', 'cache-control': 'no-cache' });
  return withinDeadline(
    opts,
    () => ({ ...result }),
    (settle) => {
      const req = send(endpoint, endpointUrl(endpoint, path), { method: 'GET', headers }, (res) => {
        result.status = res.statusCode;
        result.contentType = res.headers['content-type'];
        if (!res.statusCode || res.statusCode < 200 || res.statusCode >= 300) {
          readSnippet(res, (body) => settle.ok({ ...result, body }));
          return;
        }
        const parser = new SseCounter(() => {
          result.events += 1;
          result.firstEventMs ??= performance.now() - started;
          if (result.events >= opts.minEvents) settle.ok({ ...result });
        });
        res.setEncoding('utf8');
        res.on('data', (text: string) => parser.push(text));
        res.on('end', () => settle.ok({ ...result, ended: true }));
        res.on('error', () => settle.ok({ ...result, ended: true }));
        res.on('close', () => settle.ok({ ...result, ended: true }));
      });
      req.on('error', (err) =>
        result.status === undefined ? settle.fail(err) : settle.ok({ ...result, ended: true }),
      );
      req.end();
      return () => req.destroy();
    },
  );
}

/** Counts SSE dispatches: a blank line ends an event, which counts when it carried data (per the spec). */
export class SseCounter {
  private buffer = '';
  private hasData = false;

  constructor(private readonly onEvent: () => void) {}

  push(text: string): void {
    this.buffer += text;
    for (;;) {
      const m = /\r\n|\n|\r/.exec(this.buffer);
      // A trailing CR may be the first half of CRLF: wait for the next chunk.
      if (!m || (m[0] === '\r' && m.index === this.buffer.length - 1)) return;
      const line = this.buffer.slice(0, m.index);
      this.buffer = this.buffer.slice(m.index + m[0].length);
      if (line === '') {
        if (this.hasData) this.onEvent();
        this.hasData = false;
      } else if (line === 'data' || line.startsWith('data:')) this.hasData = true;
    }
  }
}

interface WebSocketOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Default 1. */
  minMessages?: number;
}

interface WebSocketResult {
  messages: number;
  /** From the connection attempt to the first message. */
  firstMessageMs?: number;
  /** The upgrade completed. */
  opened: boolean;
  /** HTTP status of a refused upgrade. */
  status?: number;
  statusText?: string;
  /** The start of a refused upgrade's body. */
  body?: string;
  /** The server closed the socket before enough messages arrived. */
  closeCode?: number;
  closeReason?: string;
}

/**
 * Connects (http->ws, https->wss, same headers and TLS) and waits for `minMessages` messages or `timeoutMs`.
 * A refused upgrade or a silent socket resolves with what was seen; unreachable servers and aborts reject.
 */
export function readWebSocket(endpoint: HttpEndpoint, path: string, opts: WebSocketOptions): Promise<WebSocketResult> {
  const min = opts.minMessages ?? 1;
  const started = performance.now();
  const result: WebSocketResult = { messages: 0, opened: false };
  return withinDeadline(
    opts,
    () => ({ ...result }),
    (settle) => {
      const url = endpointUrl(endpoint, path);
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      const ws = new WebSocket(url, {
        headers: mergeHeaders(endpoint.headers),
        ...tlsOptions(endpoint, url),
        // The guard's timer decides; this only backs it up, so a slow upgrade resolves as "not opened".
        handshakeTimeout: opts.timeoutMs + 1000,
        followRedirects: false,
        maxPayload: DEFAULT_MAX_BODY_BYTES,
      });
      // After settling, terminate() on a connecting socket emits 'error': keep a listener so it is not thrown.
      ws.on('error', (err) => settle.fail(err));
      ws.on('unexpected-response', (req, res) => {
        readSnippet(res, (body) => {
          req.destroy();
          settle.ok({ ...result, status: res.statusCode, statusText: res.statusMessage, body });
        });
      });
      ws.on('open', () => {
        result.opened = true;
      });
      ws.on('message', () => {
        result.messages += 1;
        result.firstMessageMs ??= performance.now() - started;
        if (result.messages >= min) settle.ok({ ...result });
      });
      ws.on('close', (code, reason) => settle.ok({ ...result, closeCode: code, closeReason: reason.toString('utf8') }));
      return () => ws.terminate();
    },
  );
}

/**
 * "cannot reach /health at http://127.0.0.1:8080: ECONNREFUSED — nothing is listening there: …". When the
 * endpoint's description does not show the address (a pod behind the API server), the address is added.
 */
export function describeEndpointError(
  endpoint: HttpEndpoint,
  path: string,
  err: unknown,
  signal?: AbortSignal,
  secrets: readonly string[] = [],
): string {
  const host = new URL(endpoint.baseUrl).host;
  const where = endpoint.describe.includes(host) ? endpoint.describe : `${endpoint.describe} via ${host}`;
  return describeConnectError(path, where, err, [...secrets, ...endpointSecrets(endpoint)], signal);
}

/** Credentials carried in the endpoint's headers, for redaction from anything echoed back. */
export function endpointSecrets(endpoint: HttpEndpoint): string[] {
  const out: string[] = [];
  for (const [name, value] of Object.entries(endpoint.headers ?? {})) {
    if (!/^(authorization|proxy-authorization|x-api-key|cookie)$/i.test(name)) continue;
    out.push(value);
    const token = /^\S+\s+(.+)$/.exec(value)?.[1];
    if (token) out.push(token);
  }
  return out;
}

interface Settler<T> {
  ok(value: T): void;
  fail(err: unknown): void;
}

/**
 * The one place a request ends: first outcome wins, then the timer and abort listener are removed and
 * `onDone` closes the socket. Returns undefined when the signal has already aborted (rejected at once).
 */
/**
 * A promise settled once: by `open`'s listeners through `settle`, by the deadline (`onTimeout`'s value or
 * error) or by the signal. `open` returns how to close what it opened; a synchronous throw (a bad URL or
 * header value) settles like any error, so the timer is always cleared.
 */
function withinDeadline<T>(
  opts: { signal?: AbortSignal; timeoutMs: number },
  onTimeout: () => T | Error,
  open: (settle: Settler<T>) => () => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let close = (): void => {};
    const settle = guard(opts.signal, opts.timeoutMs, onTimeout, { onDone: () => close(), resolve, reject });
    if (!settle) return;
    try {
      close = open(settle);
    } catch (err) {
      settle.fail(err);
    }
  });
}

function guard<T>(
  signal: AbortSignal | undefined,
  timeoutMs: number,
  onTimeout: () => T | Error,
  io: { onDone: () => void; resolve: (v: T) => void; reject: (e: unknown) => void },
): Settler<T> | undefined {
  if (signal?.aborted) {
    io.reject(abortError(signal));
    return undefined;
  }
  let done = false;
  const finish = (fn: () => void): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    fn();
    // Deferred: a settle from inside the socket's creation must not destroy it before its listeners exist.
    queueMicrotask(io.onDone);
  };
  const onAbort = (): void => finish(() => io.reject(abortError(signal as AbortSignal)));
  const timer = setTimeout(() => {
    const v = onTimeout();
    finish(() => (v instanceof Error ? io.reject(v) : io.resolve(v)));
  }, timeoutMs);
  signal?.addEventListener('abort', onAbort, { once: true });
  return {
    ok: (value) => finish(() => io.resolve(value)),
    fail: (err) => finish(() => io.reject(err)),
  };
}

function send(
  ep: HttpEndpoint,
  url: URL,
  opts: { method: string; headers: Record<string, string> },
  onResponse: (res: IncomingMessage) => void,
): ClientRequest {
  const request = url.protocol === 'https:' ? tlsRequest : plainRequest;
  // agent:false = a fresh socket closed after the response, so no idle keep-alive socket outlives the check.
  return request(url, { method: opts.method, headers: opts.headers, agent: false, ...tlsOptions(ep, url) }, onResponse);
}

function tlsOptions(ep: HttpEndpoint, url: URL): EndpointTls {
  if (url.protocol !== 'https:' && url.protocol !== 'wss:') return {};
  const out: EndpointTls = {};
  if (ep.tls?.ca !== undefined) out.ca = ep.tls.ca;
  if (ep.tls?.cert !== undefined) out.cert = ep.tls.cert;
  if (ep.tls?.key !== undefined) out.key = ep.tls.key;
  if (ep.tls?.rejectUnauthorized !== undefined) out.rejectUnauthorized = ep.tls.rejectUnauthorized;
  return out;
}

/** Case-insensitive merge, later wins (so a request's Content-Type replaces the endpoint's). */
function mergeHeaders(...sets: (Record<string, string> | undefined)[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const set of sets) for (const [k, v] of Object.entries(set ?? {})) out[k.toLowerCase()] = v;
  return out;
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((k) => k.toLowerCase() === name);
}

function readSnippet(res: IncomingMessage, done: (body: string) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let called = false;
  const finish = (): void => {
    if (called) return;
    called = true;
    done(Buffer.concat(chunks).toString('utf8').slice(0, SNIPPET_BYTES));
  };
  res.on('data', (c: Buffer) => {
    if (size < SNIPPET_BYTES) chunks.push(c);
    size += c.length;
    if (size >= SNIPPET_BYTES) finish();
  });
  res.on('end', finish);
  res.on('error', finish);
  res.on('close', finish);
}

function coded(message: string, code: string, name = 'Error'): Error {
  const e = new Error(message) as Error & { code: string };
  e.code = code;
  e.name = name;
  return e;
}

function abortError(signal: AbortSignal): Error {
  const reason = signal.reason as unknown;
  const why = reason instanceof Error ? reason.message : reason === undefined ? '' : String(reason);
  return coded(why ? `aborted: ${why}` : 'aborted', 'ABORT_ERR', 'AbortError');
}

function timeoutError(ep: HttpEndpoint, path: string, ms: number): Error {
  return coded(`no complete answer from ${ep.describe}${path} within ${formatDuration(ms)}`, 'ETIMEDOUT');
}

function tooLarge(ep: HttpEndpoint, path: string, max: number): Error {
  return coded(`the response of ${ep.describe}${path} is larger than ${formatBytes(max)}`, 'EBODYTOOLARGE');
}

function connectionClosed(ep: HttpEndpoint, path: string): Error {
  return coded(`${ep.describe} closed the connection before the response to ${path} ended`, 'ECONNRESET');
}
