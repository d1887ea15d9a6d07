import { afterEach, describe, expect, test } from '@jest/globals';
import {
  parseDegrade,
  startEngine,
  type EngineHandle,
  type EngineOptions,
} from '../../packages/sandbox/src/engine/index';
import { captureSse, captureWs, getJson, postOrder, scrape, sleep, waitUntil } from './helpers';

const TOKEN = 'profile-token';
const ORDER = { side: 'SELL', symbol: 'ETHUSDT', qty: 1, price: 3000 };

const running: EngineHandle[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.stop()));
});

async function engineWith(
  profile: Record<string, string> | undefined,
  extra: Partial<EngineOptions> = {},
): Promise<EngineHandle> {
  const e = await startEngine({
    namespace: 'veloz',
    podName: `veloz-engine-${running.length}`,
    image: 'ghcr.io/veloz/engine:1.5.0-rc1',
    testToken: TOKEN,
    behaviour: profile ? parseDegrade(profile) : undefined,
    ...extra,
  });
  running.push(e);
  return e;
}

/** The status code of a GET, with the body drained so the connection is reused. */
async function status(url: string): Promise<number> {
  const res = await fetch(url);
  await res.arrayBuffer();
  return res.status;
}

describe('degrade profile, over HTTP and WebSocket', () => {
  test('health=fail: liveness and startup answer 503, readiness is untouched', async () => {
    const e = await engineWith({ health: 'fail' });
    expect(await getJson(`${e.url}/health`)).toMatchObject({ status: 503, body: { status: 'unhealthy' } });
    expect(await status(`${e.url}/health/startup`)).toBe(503);
    expect(await status(`${e.url}/health/ready`)).toBe(200);
    expect(e.degraded).toBe(true);
  });

  test('ready=fail: readiness answers 503, liveness is untouched', async () => {
    const e = await engineWith({ ready: 'fail' });
    expect(await getJson(`${e.url}/health/ready`)).toMatchObject({ status: 503, body: { status: 'not_ready' } });
    expect(await status(`${e.url}/health`)).toBe(200);
    expect(await status(`${e.url}/health/startup`)).toBe(200);
  });

  test('error-rate=6%: that fraction of API responses are 500, health probes are spared', async () => {
    const e = await engineWith({ 'error-rate': '6%' }, { syntheticRequestsPerSecond: 0 });
    const codes: number[] = [];
    for (let i = 0; i < 10; i++) {
      codes.push(...(await Promise.all(Array.from({ length: 20 }, () => status(`${e.url}/api/market`)))));
    }
    const errors = codes.filter((c) => c === 500).length;
    expect(codes.filter((c) => c !== 500 && c !== 200)).toEqual([]);
    expect(errors).toBeGreaterThanOrEqual(10); // 6% of 200 = 12
    expect(errors).toBeLessThanOrEqual(14);
    const failed = await Promise.all(Array.from({ length: 20 }, () => status(`${e.url}/health`)));
    expect(failed.every((c) => c === 200)).toBe(true);
    const m = await scrape(e.url);
    expect(m.get('veloz_http_requests_total{code="500",route="/api/market"}')).toBe(errors);
    expect(e.logs().filter((l) => / ERROR \[http\] GET \/api\/market -> 500/.test(l)).length).toBe(errors);
  });

  test('error-rate=100%: every API response is a JSON 500, synthetic traffic too', async () => {
    const e = await engineWith({ 'error-rate': '100%' }, { syntheticRequestsPerSecond: 200 });
    expect(await getJson(`${e.url}/api/orders_state`)).toMatchObject({ status: 500, body: { error: 'internal' } });
    expect((await postOrder(e.url, ORDER, TOKEN)).status).toBe(500);
    await sleep(600);
    const m = await scrape(e.url);
    expect(m.get('veloz_http_requests_total{code="500",route="/api/market"}')).toBeGreaterThan(20);
    expect(m.get('veloz_http_requests_total{code="200",route="/api/market"}')).toBe(0);
  });

  test('p99=1200ms: about 1% of real responses are delayed past 1 s, the bulk stays fast', async () => {
    const N = 300;
    const e = await engineWith({ p99: '1200ms' }, { syntheticRequestsPerSecond: 0 });
    // 50 clients in parallel: a slow response holds up only its own client.
    const durations: number[] = [];
    let issued = 0;
    const client = async (): Promise<void> => {
      while (issued++ < N) {
        const t0 = Date.now();
        expect(await status(`${e.url}/api/market`)).toBe(200);
        durations.push(Date.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: 50 }, client));
    expect(durations.length).toBe(N);

    // The server's own histogram (immune to client-side load): 1.13% of the distribution lies above 1 s
    // (1% up to 2.5 s so that p99 interpolates to 1.2 s), ~3.4 of 300; nothing between 100 ms and 1 s.
    const m = await scrape(e.url);
    const bucket = (le: string): number =>
      m.get(`veloz_http_request_duration_seconds_bucket{route="/api/market",le="${le}"}`) as number;
    expect(m.get('veloz_http_request_duration_seconds_count{route="/api/market"}')).toBe(N);
    const slow = N - bucket('1');
    expect(slow).toBeGreaterThanOrEqual(2);
    expect(slow).toBeLessThanOrEqual(6);
    expect(bucket('0.5')).toBeGreaterThanOrEqual(N - 8);
    // And clients really waited that long.
    expect(durations.filter((d) => d >= 1000).length).toBeGreaterThanOrEqual(slow);
  });

  test('sse=silent: the stream opens and stays open but sends nothing', async () => {
    const e = await engineWith({ sse: 'silent' });
    const sse = await captureSse(`${e.url}/api/stream`, 2200);
    expect(sse.status).toBe(200);
    expect(sse.contentType).toMatch(/^text\/event-stream/);
    expect(sse.bytes).toBe(0);
    expect(sse.ended).toBe(false);
  });

  test('sse=silent applied to a running engine silences streams already open', async () => {
    const e = await engineWith(undefined);
    const pending = captureSse(`${e.url}/api/stream`, 3000);
    await sleep(1200);
    e.setBehaviour(parseDegrade({ sse: 'silent' }));
    const switchedAt = Date.now();
    const sse = await pending;
    expect(sse.events.filter((ev) => ev.at < switchedAt).length).toBeGreaterThanOrEqual(2);
    // At most one event already in flight when the profile changed.
    expect(sse.events.filter((ev) => ev.at > switchedAt + 50).length).toBe(0);
    expect(sse.ended).toBe(false);
  });

  test('ws=refuse: the upgrade is refused with 503', async () => {
    const e = await engineWith({ ws: 'refuse' });
    const { refusedStatus, messages } = await captureWs(`${e.url.replace('http', 'ws')}/ws/market`, 500);
    expect(refusedStatus).toBe(503);
    expect(messages).toEqual([]);
  });

  test('orders=reject: a valid order is answered 422 with a reason and not kept', async () => {
    const e = await engineWith({ orders: 'reject' });
    const res = await postOrder(e.url, ORDER, TOKEN);
    expect(res).toMatchObject({ status: 422, body: { error: 'order_rejected' } });
    expect(res.body.message).toMatch(/rejected by risk check/);
    expect((await getJson(`${e.url}/api/orders_state`)).body.count).toBe(0);
    // Authentication and validation still come first.
    expect((await postOrder(e.url, ORDER, 'nope')).status).toBe(401);
    expect((await postOrder(e.url, { ...ORDER, qty: -1 }, TOKEN)).status).toBe(400);
  });

  test('orders=error: a valid order is answered 500', async () => {
    const e = await engineWith({ orders: 'error' });
    const res = await postOrder(e.url, ORDER, TOKEN);
    expect(res).toMatchObject({ status: 500, body: { error: 'internal' } });
    expect(res.body.message).toMatch(/order routing failed/);
    expect((await getJson(`${e.url}/api/orders_state`)).body.count).toBe(0);
  });

  test('log-errors=20/s: ERROR lines at that rate', async () => {
    const e = await engineWith({ 'log-errors': '20/s' });
    const errors = (): string[] => e.logs().filter((l) => / ERROR /.test(l));
    await waitUntil('first error line', () => errors().length > 0, 2000);
    const start = errors().length;
    const t0 = Date.now();
    await sleep(1000);
    // Lines accrue with elapsed time, so divide by the time that really passed (a loaded machine
    // oversleeps).
    const perSecond = (errors().length - start) / ((Date.now() - t0) / 1000);
    expect(perSecond).toBeGreaterThanOrEqual(12);
    expect(perSecond).toBeLessThanOrEqual(28);
    expect(errors()[0]).toMatch(/^\S+Z ERROR \[[a-z-]+\] \S/);
  });

  test('memory=+10MiB/s: the reported resident memory grows at that rate', async () => {
    const e = await engineWith({ memory: '+10MiB/s' });
    const rss = async (): Promise<number> => (await scrape(e.url)).get('process_resident_memory_bytes') as number;
    const m0 = await rss();
    const t0 = Date.now();
    await sleep(1000);
    const m1 = await rss();
    const mibPerSecond = (m1 - m0) / (1024 * 1024) / ((Date.now() - t0) / 1000);
    expect(mibPerSecond).toBeGreaterThan(7);
    expect(mibPerSecond).toBeLessThan(13);
    // A healthy engine's memory stays flat.
    const healthy = await engineWith(undefined);
    const h0 = (await scrape(healthy.url)).get('process_resident_memory_bytes') as number;
    await sleep(500);
    const h1 = (await scrape(healthy.url)).get('process_resident_memory_bytes') as number;
    expect(Math.abs(h1 - h0)).toBeLessThan(1024 * 1024);
  });

  test('after=2s: healthy first, degraded once it passes', async () => {
    const e = await engineWith({ after: '2s', health: 'fail', ws: 'refuse' });
    const t0 = Date.now();
    expect(await status(`${e.url}/health`)).toBe(200);
    expect(e.degraded).toBe(false);
    expect(e.behaviour).toMatchObject({ afterMs: 2000, health: 'fail' });
    const ws = await captureWs(`${e.url.replace('http', 'ws')}/ws/market`, 100);
    expect(ws.refusedStatus).toBeUndefined();
    await waitUntil('health to fail', async () => (await status(`${e.url}/health`)) === 503, 5000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1900);
    expect(e.degraded).toBe(true);
    expect((await captureWs(`${e.url.replace('http', 'ws')}/ws/market`, 100)).refusedStatus).toBe(503);
    await waitUntil(
      'activation log line',
      () => e.logs().some((l) => /WARN {2}\[sandbox\] degrade profile active: after=2s,health=fail,ws=refuse/.test(l)),
      5000,
    );
  });

  test('setBehaviour flips a running engine to a profile and back to healthy', async () => {
    const e = await engineWith(undefined);
    expect(await status(`${e.url}/health/ready`)).toBe(200);
    e.setBehaviour(parseDegrade({ ready: 'fail', orders: 'reject' }));
    expect(await status(`${e.url}/health/ready`)).toBe(503);
    expect((await postOrder(e.url, ORDER, TOKEN)).status).toBe(422);
    // `after` counts from the change, not from the engine's start.
    e.setBehaviour(parseDegrade({ after: '30s', ready: 'fail' }));
    expect(await status(`${e.url}/health/ready`)).toBe(200);
    expect(e.degraded).toBe(false);
    e.setBehaviour(undefined);
    expect(await status(`${e.url}/health/ready`)).toBe(200);
    expect((await postOrder(e.url, ORDER, TOKEN)).status).toBe(200);
    expect(e.behaviour).toBeUndefined();
  });

  test('re-applying the same profile does not restart its after= clock', async () => {
    const t0 = Date.now();
    const e = await engineWith({ after: '2s', ready: 'fail' });
    const original = e.behaviour;
    await sleep(1200);
    e.setBehaviour(parseDegrade({ after: '2s', ready: 'fail' }));
    expect(e.behaviour).toBe(original);
    await waitUntil('readiness to fail', async () => (await status(`${e.url}/health/ready`)) === 503, 4000);
    // A restarted clock would keep readiness passing until at least 3.2 s after start; failing by
    // then leaves the test over a second of slack on a loaded machine.
    expect(Date.now() - t0).toBeLessThan(3200);
    e.setBehaviour(parseDegrade({ after: '2s', ready: 'fail', sse: 'silent' }));
    expect(e.behaviour).not.toBe(original);
  });
});
