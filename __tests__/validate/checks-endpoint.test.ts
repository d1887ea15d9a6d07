/**
 * The shared endpoint client: path prefixes, headers and TLS through an API-server-like pods/proxy (HTTP,
 * SSE and WebSocket alike), bounded bodies, and sockets closed on abort and timeout.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { runChecks } from '@veloz/shared/checks';
import {
  SseCounter,
  describeEndpointError,
  endpointUrl,
  httpRequest,
  readEventStream,
  readWebSocket,
  urlEndpoint,
  type HttpEndpoint,
} from '@veloz/shared/http/endpoint';
import { startEngine, type EngineHandle } from '@veloz/sandbox/engine/index';
import { healthCheck } from '@veloz/shared/endpoint-checks/health';
import { orderCheck } from '../../actions/validate/src/checks/order';
import { smokeCheck } from '../../actions/validate/src/checks/smoke';
import { sseCheck } from '../../actions/validate/src/checks/sse';
import { websocketCheck } from '../../actions/validate/src/checks/websocket';
import { DEFAULT_SMOKE } from '../../actions/validate/src/inputs';
import {
  selfSignedCert,
  startPodProxy,
  startSilentServer,
  type Pem,
  type ProxyServer,
  type SilentServer,
} from './checks-support';

const KUBE_TOKEN = 'kube-sa-token-5f1e2d3c';
const TEST_TOKEN = 'test-account-token-9a8b7c';

let engine: EngineHandle;
let pem: Pem;
let proxy: ProxyServer;
let silent: SilentServer;
let big: Server;

beforeAll(async () => {
  pem = selfSignedCert();
  engine = await startEngine({
    namespace: 'veloz',
    podName: 'veloz-engine-x',
    image: 'ghcr.io/veloz/engine:1.5.0',
    testToken: TEST_TOKEN,
    syntheticRequestsPerSecond: 0,
  });
  proxy = await startPodProxy(pem, KUBE_TOKEN, engine.port);
  silent = await startSilentServer();
  // Answers 2 MiB, more than the client's default 1 MiB bound.
  big = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('x'.repeat(2 * 1024 * 1024));
  });
  big.listen(0, '127.0.0.1');
  await once(big, 'listening');
});

afterAll(async () => {
  big?.closeAllConnections();
  await new Promise<void>((r) => (big ? big.close(() => r()) : r()));
  await silent?.stop();
  await proxy?.stop();
  await engine?.stop();
});

const viaProxy = (extra: Partial<HttpEndpoint> = {}): HttpEndpoint => ({
  baseUrl: proxy.baseUrl,
  headers: { Authorization: `Bearer ${KUBE_TOKEN}` },
  tls: { ca: pem.cert },
  describe: 'pod veloz-engine-x (pods/proxy)',
  ...extra,
});

describe('endpointUrl', () => {
  test('appends the path (and its query) to a base path', () => {
    const ep = urlEndpoint('https://127.0.0.1:6443/api/v1/namespaces/veloz/pods/p:8080/proxy/');
    expect(endpointUrl(ep, '/health/ready').toString()).toBe(
      'https://127.0.0.1:6443/api/v1/namespaces/veloz/pods/p:8080/proxy/health/ready',
    );
    expect(endpointUrl(urlEndpoint('http://prom:9090'), '/api/v1/query?query=up%7Bjob%3D%22x%22%7D').toString()).toBe(
      'http://prom:9090/api/v1/query?query=up%7Bjob%3D%22x%22%7D',
    );
  });
  test('urlEndpoint describes without credentials or query', () => {
    expect(urlEndpoint('https://user:secret@veloz.example.com/base/?token=abc').describe).toBe(
      'https://veloz.example.com/base',
    );
  });
});

describe('through an HTTPS pods/proxy with a bearer token and a custom CA', () => {
  test('health, smoke, SSE and WebSocket all pass, each request carrying the token', async () => {
    const ep = viaProxy();
    const results = await runChecks([
      healthCheck(ep, { paths: ['/health', '/health/ready', '/health/startup'], timeoutMs: 5000 }),
      smokeCheck(ep, { assertions: DEFAULT_SMOKE, timeoutMs: 5000 }),
      sseCheck(ep, { minEvents: 2, timeoutMs: 5000 }),
      websocketCheck(ep, { timeoutMs: 5000 }),
    ]);
    for (const r of results)
      expect({ name: r.name, status: r.status, detail: r.detail }).toEqual({
        name: r.name,
        status: 'pass',
        detail: undefined,
      });
    const paths = proxy.seen.map((s) => s.path);
    expect(paths).toEqual(expect.arrayContaining(['/health/ready', '/api/market', '/api/stream', '/ws/market']));
    expect(proxy.seen.every((s) => s.authorization === `Bearer ${KUBE_TOKEN}`)).toBe(true);
    expect(JSON.stringify(results)).not.toContain(KUBE_TOKEN);
  });

  test('the order check is skipped, saying why: the API server never forwards Authorization', async () => {
    const seen = proxy.seen.length;
    const order = orderCheck(viaProxy({ dropsAuthorization: true }), {
      token: TEST_TOKEN,
      order: { side: 'BUY' },
      timeoutMs: 5000,
    });
    const [result] = await runChecks([order]);
    expect(result).toMatchObject({ status: 'skip' });
    expect(result?.detail).toContain('does not forward it through pods/proxy');
    expect(result?.data).toBeUndefined();
    expect(proxy.seen.length).toBe(seen);
    expect(JSON.stringify(result)).not.toContain(TEST_TOKEN);
  });

  test('without the CA the certificate is refused, with the code and a hint', async () => {
    const ep = viaProxy({ tls: undefined });
    const err = await httpRequest(ep, { path: '/health', timeoutMs: 5000 }).catch((e: unknown) => e);
    const text = describeEndpointError(ep, '/health', err);
    expect(text).toContain('pod veloz-engine-x (pods/proxy) via 127.0.0.1:');
    expect(text).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY/);
    expect(text).toMatch(/not trust|self-signed/);
  });

  test('a refused token is reported with the status, and the token never appears', async () => {
    const ep = viaProxy({ headers: { Authorization: 'Bearer wrong-token-123' } });
    const [health] = await runChecks([healthCheck(ep, { paths: ['/health'], timeoutMs: 5000 })]);
    expect(health?.status).toBe('fail');
    expect(health?.detail).toContain('/health answered 401');
    expect(JSON.stringify(health)).not.toContain('wrong-token-123');
  });
});

describe('bounds and cleanup', () => {
  test('a body over the bound fails with EBODYTOOLARGE', async () => {
    const ep = urlEndpoint(`http://127.0.0.1:${(big.address() as { port: number }).port}`);
    await expect(httpRequest(ep, { path: '/', timeoutMs: 5000 })).rejects.toMatchObject({ code: 'EBODYTOOLARGE' });
    const ok = await httpRequest(ep, { path: '/', timeoutMs: 5000, maxBodyBytes: 4 * 1024 * 1024 });
    expect(ok.body).toHaveLength(2 * 1024 * 1024);
  });

  test('an abort ends a hanging request, event stream and WebSocket at once and closes their sockets', async () => {
    const ep = urlEndpoint(silent.url);
    const ac = new AbortController();
    const started = Date.now();
    const pending = [
      httpRequest(ep, { path: '/health', timeoutMs: 60_000, signal: ac.signal }),
      readEventStream(ep, '/api/stream', { minEvents: 1, timeoutMs: 60_000, signal: ac.signal }),
      readWebSocket(ep, '/ws/market', { timeoutMs: 60_000, signal: ac.signal }),
    ].map((p) =>
      p.then(
        () => 'resolved',
        (e: { code?: string }) => e.code,
      ),
    );
    while (silent.accepted() < 3) await new Promise((r) => setTimeout(r, 10));
    ac.abort(new Error('cancelled by the test'));
    expect(await Promise.all(pending)).toEqual(['ABORT_ERR', 'ABORT_ERR', 'ABORT_ERR']);
    expect(Date.now() - started).toBeLessThan(10_000);
    await silent.drained();
  });

  test('a timeout ends them too: the request rejects ETIMEDOUT, the streams resolve with nothing seen', async () => {
    const ep = urlEndpoint(silent.url);
    await expect(httpRequest(ep, { path: '/health', timeoutMs: 300 })).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    await expect(readEventStream(ep, '/api/stream', { minEvents: 1, timeoutMs: 300 })).resolves.toEqual({ events: 0 });
    await expect(readWebSocket(ep, '/ws/market', { timeoutMs: 300 })).resolves.toMatchObject({
      messages: 0,
      opened: false,
    });
    await silent.drained();
  });

  test('a header value that cannot be sent rejects at once instead of throwing or hanging', async () => {
    const ep = { ...urlEndpoint(silent.url), headers: { 'x-bad': 'line\nbreak' } };
    await expect(httpRequest(ep, { path: '/', timeoutMs: 60_000 })).rejects.toMatchObject({ code: 'ERR_INVALID_CHAR' });
    await expect(readEventStream(ep, '/', { minEvents: 1, timeoutMs: 60_000 })).rejects.toThrow();
    await expect(readWebSocket(ep, '/', { timeoutMs: 60_000 })).rejects.toThrow();
  });

  test('an already aborted signal rejects without connecting', async () => {
    const before = silent.accepted();
    await expect(
      httpRequest(urlEndpoint(silent.url), { path: '/', timeoutMs: 1000, signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: 'ABORT_ERR' });
    expect(silent.accepted()).toBe(before);
  });
});

describe('SseCounter', () => {
  test('counts events with data, across chunk boundaries and line endings', () => {
    let n = 0;
    const c = new SseCounter(() => (n += 1));
    c.push(': keep-alive comment\n\n'); // no data: not an event
    c.push('id: 1\nevent: market\ndata: {"a"');
    c.push(':1}\r');
    expect(n).toBe(0);
    c.push('\n\r\n'); // CRLF split across chunks, then the blank line
    expect(n).toBe(1);
    c.push('data\n\ndata: x\rdata: y\r\r\n');
    expect(n).toBe(3);
  });
});
