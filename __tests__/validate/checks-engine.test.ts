/**
 * The validate endpoint checks against engine doubles: a healthy engine passes every one; each degrade
 * profile fails the check that watches it, saying what broke; a stopped server and a hanging one are
 * reported with where, the error code and a hint.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runChecks, type Check, type CheckResult } from '@veloz/shared/checks';
import { systemClock } from '@veloz/shared/clock';
import { urlEndpoint, type HttpEndpoint } from '@veloz/shared/http/endpoint';
import { parseDegrade, startEngine, type EngineHandle } from '@veloz/sandbox/engine/index';
import { healthCheck } from '@veloz/shared/endpoint-checks/health';
import { metricsCheck, type ScrapeHolder } from '../../actions/validate/src/checks/metrics';
import { orderCheck } from '../../actions/validate/src/checks/order';
import { smokeCheck } from '../../actions/validate/src/checks/smoke';
import { sseCheck } from '../../actions/validate/src/checks/sse';
import { websocketCheck } from '../../actions/validate/src/checks/websocket';
import { DEFAULT_SMOKE } from '../../actions/validate/src/inputs';
import { closedPort, sleep, startSilentServer, type SilentServer } from './checks-support';

const TOKEN = 'veloz-test-account-token-0f9e8d';
const ORDER = { side: 'BUY', symbol: 'BTCUSDT', qty: 0.0001, price: 50000.0 };
const HEALTH_PATHS = ['/health', '/health/ready', '/health/startup'];

type Profile = 'healthy' | 'health' | 'errors' | 'slow' | 'sse' | 'ws' | 'orders';
const PROFILES: Record<Profile, Record<string, string> | undefined> = {
  healthy: undefined,
  health: { health: 'fail' },
  errors: { 'error-rate': '6%' },
  slow: { p99: '1200ms' },
  sse: { sse: 'silent' },
  ws: { ws: 'refuse' },
  orders: { orders: 'reject' },
};

const engines = {} as Record<Profile, EngineHandle>;
const ep = (p: Profile): HttpEndpoint => urlEndpoint(engines[p].url);

function everyCheck(e: HttpEndpoint, holder?: ScrapeHolder): Check[] {
  return [
    healthCheck(e, { paths: HEALTH_PATHS, timeoutMs: 5000 }),
    smokeCheck(e, { assertions: DEFAULT_SMOKE, timeoutMs: 5000 }),
    metricsCheck(e, { prefix: 'veloz_', timeoutMs: 5000, holder }),
    orderCheck(e, { token: TOKEN, order: ORDER, timeoutMs: 5000 }),
    sseCheck(e, { minEvents: 2, timeoutMs: 5000 }),
    websocketCheck(e, { timeoutMs: 5000 }),
  ];
}

const byName = (results: CheckResult[]): Record<string, CheckResult> =>
  Object.fromEntries(results.map((r) => [r.name, r]));

/** Two passes of the metrics check a little over a second apart: the second measures the interval. */
async function metricsTwice(e: HttpEndpoint): Promise<CheckResult> {
  const holder: ScrapeHolder = {};
  const check = metricsCheck(e, { prefix: 'veloz_', timeoutMs: 5000, holder });
  const [first] = await runChecks([check]);
  expect(first?.status).toBe('pass');
  await sleep(1500);
  const [second] = await runChecks([check]);
  return second as CheckResult;
}

beforeAll(async () => {
  await Promise.all(
    (Object.keys(PROFILES) as Profile[]).map(async (p) => {
      const profile = PROFILES[p];
      engines[p] = await startEngine({
        namespace: 'veloz',
        podName: `veloz-engine-${p}`,
        image: 'ghcr.io/veloz/engine:1.5.0',
        testToken: TOKEN,
        // Enough traffic that ~1.5 s of it puts several observations in the p99 tail.
        syntheticRequestsPerSecond: p === 'errors' || p === 'slow' || p === 'healthy' ? 400 : 20,
        behaviour: profile ? parseDegrade(profile) : undefined,
      });
    }),
  );
});

afterAll(async () => {
  await Promise.all(Object.values(engines).map((e) => e.stop()));
});

describe('a healthy engine', () => {
  test('passes every check, and the second pass measures error rate and p99 between scrapes', async () => {
    const holder: ScrapeHolder = {};
    const first = byName(await runChecks(everyCheck(ep('healthy'), holder)));
    for (const r of Object.values(first)) expect([r.name, r.status, r.detail]).toEqual([r.name, 'pass', undefined]);

    expect(first.health?.data).toMatchObject({ healthy: true, failures: [] });
    expect(first.health?.observed).toMatch(/^\/health 200 \(\d+ms\), \/health\/ready 200 .*\/health\/startup 200/);
    expect(first.smoke?.observed).toBe('2/2 assertions hold');
    expect(first.order?.data).toMatchObject({ orderId: expect.stringMatching(/^ord-/), status: 200 });
    expect(first.order?.observed).toMatch(/^order ord-\S+ accepted \(200, \d+ms\) and visible in \/api\/orders_state$/);
    expect(first.sse?.data).toMatchObject({ events: 2 });
    expect(first.websocket?.data).toMatchObject({ messages: 1 });
    expect(first.metrics?.data?.errorRate).toBeUndefined();
    expect(first.metrics?.observed).toContain('rates from the next pass');

    await sleep(1200);
    const second = byName(await runChecks(everyCheck(ep('healthy'), holder)));
    for (const r of Object.values(second)) expect([r.name, r.status, r.detail]).toEqual([r.name, 'pass', undefined]);
    const m = second.metrics?.data as { errorRate: number; p99Ms: number; requests: number };
    expect(m.requests).toBeGreaterThan(200);
    expect(m.errorRate).toBe(0);
    expect(m.p99Ms).toBeGreaterThan(10);
    expect(m.p99Ms).toBeLessThan(100);

    const text = JSON.stringify([first, second]);
    expect(text).not.toContain(TOKEN);
    for (const r of [...Object.values(first), ...Object.values(second)]) {
      expect(r.data?.functionalFailure).toBeUndefined();
    }
  });
});

describe('each degrade profile fails the check that watches it', () => {
  test('health=fail: /health and /health/startup answer 503, healthy:false for the decision', async () => {
    const [r] = await runChecks([healthCheck(ep('health'), { paths: HEALTH_PATHS, timeoutMs: 5000 })]);
    expect(r?.status).toBe('fail');
    expect(r?.observed).toMatch(/\/health 503 .*\/health\/ready 200 .*\/health\/startup 503/);
    expect(r?.data).toMatchObject({
      healthy: false,
      failures: [
        '/health answered 503 Service Unavailable: event loop stalled: matching engine heartbeat missed',
        '/health/startup answered 503 Service Unavailable: startup checks failing',
      ],
    });
    expect(r?.detail).toContain('Next: read the events and logs of the pod');
  });

  test('error-rate=6%: the metrics deltas show ~6% 5xx and fail the 1% alert threshold', async () => {
    const r = await metricsTwice(ep('errors'));
    expect(r.status).toBe('fail');
    const rate = r.data?.errorRate as number;
    expect(rate).toBeGreaterThan(0.04);
    expect(rate).toBeLessThan(0.08);
    expect(r.detail).toMatch(
      /^Error rate \d+(\.\d+)?% \(\d+ of \d+ requests 5xx\) over the last [\d.]+s is above the alert threshold 1%\./,
    );
  });

  test('p99=1200ms: the metrics deltas show a p99 over 1s and fail the 500ms alert threshold', async () => {
    const r = await metricsTwice(ep('slow'));
    expect(r.status).toBe('fail');
    const p99 = r.data?.p99Ms as number;
    expect(p99).toBeGreaterThan(1000);
    expect(p99).toBeLessThanOrEqual(2500);
    expect(r.data?.errorRate).toBe(0);
    expect(r.detail).toMatch(/P99 latency [\d.]+s over the last [\d.]+s is above the alert threshold 500ms/);
  });

  test('sse=silent: the stream opens and stays quiet; a functional failure', async () => {
    const [r] = await runChecks([sseCheck(ep('sse'), { minEvents: 1, timeoutMs: 1500 })]);
    expect(r?.status).toBe('fail');
    expect(r?.observed).toBe('0 events');
    expect(r?.detail).toBe(
      'GET /api/stream opened (200, text/event-stream) but delivered 0 of 1 events in 1.5s: the publisher looks stalled',
    );
    expect(r?.data?.functionalFailure).toBe(`sse: ${r?.detail}`);
  });

  test('ws=refuse: the upgrade is refused with 503 and the server says why', async () => {
    const [r] = await runChecks([websocketCheck(ep('ws'), { timeoutMs: 3000 })]);
    expect(r?.status).toBe('fail');
    expect(r?.observed).toBe('upgrade refused (503)');
    expect(r?.detail).toBe(
      '/ws/market: the WebSocket upgrade was refused with 503 Service Unavailable: market data gateway unavailable',
    );
    expect(r?.data?.functionalFailure).toMatch(/^websocket: /);
  });

  test('orders=reject: 422 with the risk check message; the token never appears', async () => {
    const [r] = await runChecks([orderCheck(ep('orders'), { token: TOKEN, order: ORDER, timeoutMs: 5000 })]);
    expect(r?.status).toBe('fail');
    expect(r?.observed).toBe('HTTP 422');
    expect(r?.detail).toContain(
      'POST /api/order answered 422 Unprocessable Entity: order rejected by risk check: risk limits unavailable',
    );
    expect(r?.detail).toContain('check the order input and the test account');
    expect(r?.data?.functionalFailure).toMatch(/^order: POST \/api\/order answered 422/);
    expect(JSON.stringify(r)).not.toContain(TOKEN);
  });

  test('a wrong test token: 401, with a hint at the secret and without the secret', async () => {
    const wrong = 'not-the-right-token-42';
    const [r] = await runChecks([orderCheck(ep('healthy'), { token: wrong, order: ORDER, timeoutMs: 5000 })]);
    expect(r?.status).toBe('fail');
    expect(r?.detail).toContain('401 Unauthorized');
    expect(r?.detail).toContain('the test token was refused: check the test-token secret');
    expect(JSON.stringify(r)).not.toContain(wrong);
  });

  test('a smoke assertion that does not hold names path, field, expected and actual', async () => {
    const [r] = await runChecks([
      smokeCheck(ep('healthy'), {
        assertions: [
          { path: '/api/market', field: 'status', comparator: 'equals', value: 'degraded' },
          { path: '/api/market', field: 'quotes.0.symbol', comparator: 'equals', value: 'BTCUSDT' },
          { path: '/api/orders_state', field: 'count', comparator: 'lt', value: -1 },
          { path: '/api/nope', field: 'x', comparator: 'exists' },
        ],
        timeoutMs: 5000,
      }),
    ]);
    expect(r?.status).toBe('fail');
    expect(r?.observed).toBe('1/4 assertions hold');
    expect(r?.detail?.split('\n')).toEqual([
      'GET /api/market: field `status` expected = "degraded", got "ok" (string)',
      expect.stringMatching(/^GET \/api\/orders_state: field `count` expected < -1, got \d+ \(number\)$/),
      'GET /api/nope answered 404 Not Found: no route for /api/nope',
    ]);
    expect(r?.data?.functionalFailure).toBe(
      'smoke: GET /api/market: field `status` expected = "degraded", got "ok" (string)',
    );
  });
});

describe('a server that is down or hangs', () => {
  let silent: SilentServer;
  beforeAll(async () => {
    silent = await startSilentServer();
  });
  afterAll(async () => {
    await silent?.stop();
  });

  test('a stopped server fails every check with host, port, ECONNREFUSED and a hint', async () => {
    const port = await closedPort();
    const down = urlEndpoint(`http://127.0.0.1:${port}`);
    const results = await runChecks(everyCheck(down, {}));
    for (const r of results) {
      expect(r.status).toBe('fail');
      expect(r.detail).toContain(`at http://127.0.0.1:${port}: ECONNREFUSED — nothing is listening there`);
      expect(r.detail).not.toMatch(/\n\s+at /); // no stack trace
    }
    const health = results.find((r) => r.name === 'health');
    expect(health?.data).toMatchObject({ healthy: false });
    expect(health?.detail).toContain('(every health path alike)');
    for (const name of ['smoke', 'order', 'sse', 'websocket']) {
      expect(results.find((r) => r.name === name)?.data?.functionalFailure).toMatch(/ECONNREFUSED/);
    }
  });

  test('a hanging endpoint: every check returns as soon as the signal aborts, and its sockets close', async () => {
    const hang = urlEndpoint(silent.url);
    const checks = everyCheck(hang, {}).map((c) => ({ ...c, timeoutMs: 60_000 }));
    const ac = new AbortController();
    const started = Date.now();
    const pending = runChecks(checks, { signal: ac.signal });
    // health (3 paths), smoke (2), metrics, order (state read), sse, websocket
    while (silent.accepted() < 9) await sleep(10);
    ac.abort(new Error('the job was cancelled'));
    const results = await pending;
    expect(Date.now() - started).toBeLessThan(10_000);
    for (const r of results) {
      expect([r.name, r.status]).toEqual([r.name, 'fail']);
      expect(r.detail).toContain('ABORT_ERR');
    }
    await silent.drained();
  });

  test('a hanging endpoint under the runner timeout: the check fails at its deadline, sockets close', async () => {
    const before = silent.accepted();
    const check = healthCheck(urlEndpoint(silent.url), { paths: ['/health'], timeoutMs: 800 });
    const started = systemClock.now();
    const [r] = await runChecks([check]);
    expect(r?.status).toBe('fail');
    // The request's own deadline sits just inside the check's, so the detail names what hung.
    expect(r?.detail).toMatch(/cannot reach \/health at http:\/\/127\.0\.0\.1:\d+: ETIMEDOUT .*within 720ms/);
    expect(systemClock.now() - started).toBeLessThan(5000);
    expect(silent.accepted()).toBe(before + 1);
    await silent.drained();
  });
});
