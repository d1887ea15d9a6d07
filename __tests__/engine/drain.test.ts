import { expect, test } from '@jest/globals';
import { WebSocket } from 'ws';
import { parseDegrade, startEngine } from '../../packages/sandbox/src/engine/index';

/** Stopping with a drain is a SIGTERM: streams close, new connections are refused, in-flight requests finish. */

const slowEngine = () =>
  startEngine({
    namespace: 'veloz',
    podName: 'slow-0',
    image: 'veloz/engine:1.0.0',
    testToken: 't',
    syntheticRequestsPerSecond: 0,
    // Every API request takes ~400 ms, so one is surely in flight when the stop begins.
    behaviour: parseDegrade({ noise: 'random', seed: '7', median: '400ms', p99: '900ms' }),
  });

test('with drainMs an in-flight request completes and the WebSocket closes; without, the request fails', async () => {
  const engine = await slowEngine();
  const ws = new WebSocket(`${engine.url.replace('http', 'ws')}/ws/market`);
  const upgrade = new Promise<Record<string, unknown>>((r) => ws.on('upgrade', (res) => r(res.headers)));
  await new Promise((r) => ws.on('open', r));
  expect(await upgrade).toMatchObject({ 'x-veloz-pod': 'slow-0', 'x-veloz-version': '1.0.0' });
  expect(engine.activeConnections).toBe(1);
  const closed = new Promise((r) => ws.on('close', r));
  const inFlight = fetch(`${engine.url}/api/market`, { signal: AbortSignal.timeout(10_000) });
  await new Promise((r) => setTimeout(r, 50));
  const stopping = engine.stop({ drainMs: 5000 });
  await closed;
  const res = await inFlight;
  expect(res.status).toBe(200);
  expect((await res.json()) as { pod: string }).toMatchObject({ pod: 'slow-0' });
  await stopping;
  await expect(fetch(`${engine.url}/health`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();

  const abrupt = await slowEngine();
  const lost = fetch(`${abrupt.url}/api/market`, { signal: AbortSignal.timeout(10_000) });
  await new Promise((r) => setTimeout(r, 50));
  await abrupt.stop();
  await expect(lost).rejects.toThrow();
});
