import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { WebSocket } from 'ws';
import { startEngine, type EngineHandle } from '../../packages/sandbox/src/engine/index';
import { captureSse, captureWs, getJson, postOrder, scrape, sleep, waitUntil } from './helpers';

const TOKEN = 'sandbox-test-token';
const ORDER = { side: 'BUY', symbol: 'BTCUSDT', qty: 0.0001, price: 50000.0 };

let engine: EngineHandle;

beforeAll(async () => {
  engine = await startEngine({
    namespace: 'veloz',
    podName: 'veloz-engine-7d9f-abcde',
    image: 'ghcr.io/veloz/engine:1.4.2',
    testToken: TOKEN,
    podLabels: { 'app.kubernetes.io/name': 'veloz', track: 'stable' },
  });
});

afterAll(async () => {
  await engine.stop();
});

describe('health endpoints (runbook 3.1)', () => {
  test.each(['/health', '/health/ready', '/health/startup'])('%s answers 200 with JSON', async (path) => {
    const { status, body } = await getJson(`${engine.url}${path}`);
    expect(status).toBe(200);
    expect(typeof body.status).toBe('string');
  });

  test('the engine listens on a loopback port and reports its version from the image tag', async () => {
    expect(engine.url).toBe(`http://127.0.0.1:${engine.port}`);
    expect(engine.version).toBe('1.4.2');
    const res = await fetch(`${engine.url}/health`);
    expect(res.headers.get('x-veloz-pod')).toBe('veloz-engine-7d9f-abcde');
    expect(engine.degraded).toBe(false);
    expect(engine.behaviour).toBeUndefined();
  });

  test('startupMs holds startup and readiness at 503 until it passes, liveness stays 200', async () => {
    const slow = await startEngine({
      namespace: 'veloz',
      podName: 'slow',
      image: 'veloz:2',
      testToken: TOKEN,
      startupMs: 600,
    });
    try {
      expect((await getJson(`${slow.url}/health/startup`)).status).toBe(503);
      expect((await getJson(`${slow.url}/health/ready`)).body).toEqual({ status: 'starting' });
      expect((await getJson(`${slow.url}/health`)).status).toBe(200);
      await waitUntil('readiness', async () => (await getJson(`${slow.url}/health/ready`)).status === 200, 3000);
      expect((await getJson(`${slow.url}/health/startup`)).status).toBe(200);
      await waitUntil('startup log line', () => slow.logs().some((l) => /startup complete in 600ms/.test(l)), 5000);
    } finally {
      await slow.stop();
    }
  });
});

describe('trading API (runbook 3.1, 3.2)', () => {
  test('/api/market has a status and quotes', async () => {
    const { status, body } = await getJson(`${engine.url}/api/market`);
    expect(status).toBe(200);
    expect(body.status).toBe('ok');
    expect(body.quotes.map((q: { symbol: string }) => q.symbol)).toContain('BTCUSDT');
    expect(body.quotes[0].price).toBeGreaterThan(0);
  });

  test('an order needs the bearer token', async () => {
    for (const token of [undefined, 'wrong-token']) {
      const res = await postOrder(engine.url, ORDER, token);
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ error: 'unauthorized' });
      expect(res.body.message).toMatch(/Bearer/);
    }
  });

  test.each([
    [{ ...ORDER, side: 'HOLD' }, 'side'],
    [{ ...ORDER, side: 'buy' }, 'side'],
    [{ ...ORDER, symbol: '' }, 'symbol'],
    [{ side: 'SELL', qty: 1, price: 1 }, 'symbol'],
    [{ ...ORDER, qty: 0 }, 'qty'],
    [{ ...ORDER, qty: '1' }, 'qty'],
    [{ ...ORDER, price: -1 }, 'price'],
    [[ORDER], 'body'],
  ])('an invalid order %j is answered 400 naming %s', async (order, field) => {
    const res = await postOrder(engine.url, order, TOKEN);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_order', field });
    expect(res.body.message).toMatch(new RegExp(field));
  });

  test('a body that is not JSON is answered 400, an oversized one 413', async () => {
    const bad = await postOrder(engine.url, '{"side":', TOKEN);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toBe('invalid_json');
    const huge = await postOrder(engine.url, JSON.stringify({ ...ORDER, pad: 'x'.repeat(100_000) }), TOKEN);
    expect(huge.status).toBe(413);
  });

  test('an accepted order appears in /api/orders_state', async () => {
    const before = await getJson(`${engine.url}/api/orders_state`);
    expect(before.status).toBe(200);
    expect(typeof before.body.count).toBe('number');
    expect(Array.isArray(before.body.orders)).toBe(true);

    const placed = await postOrder(engine.url, ORDER, TOKEN);
    expect(placed.status).toBe(200);
    expect(placed.body).toMatchObject({ ...ORDER, status: 'ACCEPTED' });
    expect(placed.body.order_id).toMatch(/^ord-/);

    const after = await getJson(`${engine.url}/api/orders_state`);
    expect(after.body.count).toBe(before.body.count + 1);
    expect(after.body.orders.map((o: { order_id: string }) => o.order_id)).toContain(placed.body.order_id);
  });

  test('unknown paths are 404 and wrong methods 405, both JSON', async () => {
    const missing = await getJson(`${engine.url}/api/nope`);
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe('not_found');
    const res = await fetch(`${engine.url}/api/order`);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    await res.text();
  });
});

describe('streams (runbook 3.2)', () => {
  test('/api/stream is SSE with an event at least every second', async () => {
    const sse = await captureSse(`${engine.url}/api/stream`, 2600);
    expect(sse.status).toBe(200);
    expect(sse.contentType).toMatch(/^text\/event-stream/);
    expect(sse.events.length).toBeGreaterThanOrEqual(3);
    expect(sse.events[0]?.event).toBe('market');
    expect(sse.events[0]?.data.quotes[0].symbol).toBe('BTCUSDT');
    const gaps = sse.events.slice(1).map((e, i) => e.at - (sse.events[i]?.at as number));
    expect(Math.max(...gaps)).toBeLessThan(1000);
    expect(sse.ended).toBe(false);
  });

  test('/ws/market sends a snapshot, then ticks, and acknowledges subscriptions', async () => {
    const { messages, refusedStatus } = await captureWs(`${engine.url.replace('http', 'ws')}/ws/market`, 1600, (ws) =>
      ws.send(JSON.stringify({ op: 'subscribe', symbols: ['BTCUSDT'] })),
    );
    expect(refusedStatus).toBeUndefined();
    expect(messages[0]).toMatchObject({ type: 'snapshot' });
    expect(messages).toContainEqual({ type: 'subscribed', symbols: ['BTCUSDT'] });
    const ticks = messages.filter((m) => m.type === 'tick');
    expect(ticks.length).toBeGreaterThanOrEqual(3);
    expect(ticks[0]).toMatchObject({ symbol: expect.any(String), price: expect.any(Number), bid: expect.any(Number) });
  });

  test('WebSocket upgrades elsewhere are refused with 404', async () => {
    const { refusedStatus } = await captureWs(`${engine.url.replace('http', 'ws')}/ws/other`, 500);
    expect(refusedStatus).toBe(404);
  });
});

describe('/metrics', () => {
  test('exposes the runbook series in Prometheus text format', async () => {
    const res = await fetch(`${engine.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    for (const [name, type] of [
      ['veloz_http_requests_total', 'counter'],
      ['veloz_http_request_duration_seconds', 'histogram'],
      ['process_cpu_seconds_total', 'counter'],
      ['process_resident_memory_bytes', 'gauge'],
      ['veloz_active_connections', 'gauge'],
    ]) {
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
    }
    expect(text).toMatch(/^veloz_http_requests_total\{code="200",route="\/api\/market"\} \d+$/m);
    for (const le of ['0.1', '0.5', '1', '2.5', '+Inf']) {
      expect(text).toContain(`veloz_http_request_duration_seconds_bucket{route="/api/market",le="${le}"}`);
    }
    expect(text).toContain('veloz_build_info{version="1.4.2"} 1');
  });

  test('background traffic keeps the counters moving without external load', async () => {
    const key = 'veloz_http_requests_total{code="200",route="/api/market"}';
    const first = await scrape(engine.url);
    await sleep(1100);
    const second = await scrape(engine.url);
    // 50 requests/s, 60% of them /api/market: about 33 in 1.1 s.
    expect((second.get(key) as number) - (first.get(key) as number)).toBeGreaterThanOrEqual(15);
    expect(second.get('process_cpu_seconds_total')).toBeGreaterThan(first.get('process_cpu_seconds_total') as number);
    expect(second.get('process_resident_memory_bytes')).toBeGreaterThan(100 * 1024 * 1024);
    // A healthy engine's background traffic has no server errors.
    expect(second.get('veloz_http_requests_total{code="500",route="/api/market"}')).toBe(0);
  });

  test('real API requests are counted; probes and scrapes are not', async () => {
    const key = 'veloz_http_requests_total{code="404",route="/api/orders_state"}';
    const quiet = await startEngine({
      namespace: 'veloz',
      podName: 'quiet',
      image: 'veloz:1',
      testToken: TOKEN,
      syntheticRequestsPerSecond: 0,
    });
    try {
      await getJson(`${quiet.url}/health`);
      await getJson(`${quiet.url}/api/orders_state`);
      await postOrder(quiet.url, ORDER, 'bad');
      const m = await scrape(quiet.url);
      expect(m.get('veloz_http_requests_total{code="200",route="/api/orders_state"}')).toBe(1);
      expect(m.get('veloz_http_requests_total{code="401",route="/api/order"}')).toBe(1);
      expect(m.get('veloz_http_request_duration_seconds_count{route="/api/orders_state"}')).toBe(1);
      expect(m.get('veloz_http_request_duration_seconds_count{route="/api/market"}')).toBe(0);
      expect(m.has(key)).toBe(false);
    } finally {
      await quiet.stop();
    }
  });

  test('veloz_active_connections counts open SSE and WebSocket clients', async () => {
    const gauge = async (): Promise<number> => (await scrape(engine.url)).get('veloz_active_connections') as number;
    const base = await gauge();
    const ws = new WebSocket(`${engine.url.replace('http', 'ws')}/ws/market`);
    await new Promise((r) => ws.once('open', r));
    const sse = captureSse(`${engine.url}/api/stream`, 1200);
    await waitUntil('two more connections', async () => (await gauge()) === base + 2);
    ws.close();
    await sse;
    await waitUntil('connections back to base', async () => (await gauge()) === base);
  });
});

describe('logs', () => {
  test('timestamped engine lines; tailLines and sinceSeconds select like kubectl logs', async () => {
    const lines = engine.logs();
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO {2}\[main\] VeloZ engine 1\.4\.2 starting/);
    expect(lines.every((l) => /^\d{4}-\d\d-\d\dT\S+Z (INFO|WARN|ERROR|DEBUG) /.test(l))).toBe(true);
    expect(engine.logs({ tailLines: 2 })).toEqual(lines.slice(-2));
    expect(engine.logs({ tailLines: 0 })).toEqual([]);
    // Startup lines are older than the orders placed in this file's tests.
    const startLine = lines[0] as string;
    const ageSeconds = (Date.now() - Date.parse(startLine.slice(0, 24))) / 1000;
    const recent = engine.logs({ sinceSeconds: Math.max(0, ageSeconds - 1) });
    expect(recent).not.toContain(startLine);
    expect(engine.logs({ sinceSeconds: ageSeconds + 5 })).toContain(startLine);
    expect(engine.logEntries({ tailLines: 1 })[0]?.time).toEqual(expect.any(Number));
  });

  test('followLogs streams new lines until unsubscribed', async () => {
    const seen: string[] = [];
    const unsubscribe = engine.followLogs((l) => seen.push(l));
    await postOrder(engine.url, ORDER, TOKEN);
    expect(seen.some((l) => / INFO {2}\[order\] accepted ord-.* BUY 0\.0001 BTCUSDT @ 50000$/.test(l))).toBe(true);
    unsubscribe();
    const count = seen.length;
    await postOrder(engine.url, ORDER, TOKEN);
    expect(seen.length).toBe(count);
  });
});

describe('scrape targets', () => {
  test('carry namespace, pod and the pod labels in Prometheus form', () => {
    expect(engine.scrapeTarget()).toEqual({
      address: `127.0.0.1:${engine.port}`,
      url: `http://127.0.0.1:${engine.port}/metrics`,
      metricsPath: '/metrics',
      labels: { namespace: 'veloz', pod: 'veloz-engine-7d9f-abcde', app_kubernetes_io_name: 'veloz', track: 'stable' },
    });
  });
});

describe('stop()', () => {
  test('closes the port and every open stream', async () => {
    const e = await startEngine({ namespace: 'veloz', podName: 'short-lived', image: 'veloz:1', testToken: TOKEN });
    const ws = new WebSocket(`${e.url.replace('http', 'ws')}/ws/market`);
    await new Promise((r) => ws.once('open', r));
    const wsClosed = new Promise((r) => ws.once('close', r));
    const sse = captureSse(`${e.url}/api/stream`, 10_000);
    await waitUntil('stream open', async () => (await scrape(e.url)).get('veloz_active_connections') === 2);
    const started = Date.now();
    await e.stop();
    await wsClosed;
    await expect(sse).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5000);
    await expect(fetch(`${e.url}/health`)).rejects.toThrow();
    await e.stop(); // idempotent
  });

  test('engines get distinct ports', async () => {
    const engines = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        startEngine({ namespace: 'veloz', podName: `p${i}`, image: 'veloz:1', testToken: TOKEN }),
      ),
    );
    expect(new Set(engines.map((e) => e.port)).size).toBe(10);
    await Promise.all(engines.map((e) => e.stop()));
  });
});
