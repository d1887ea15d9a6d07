import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { createServer, type Server, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { GatewayListener, type Upstream } from '@veloz/sandbox/gateway/listener';

/** The listener's own guarantees, against an upstream that accepts and never answers. */

let silent: Server;
let silentPort = 0;
const held = new Set<Socket>();
let alive = true;
let listener: GatewayListener;

beforeAll(async () => {
  silent = createServer((s) => {
    held.add(s);
    s.on('error', () => s.destroy());
    s.on('close', () => held.delete(s));
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  silentPort = (silent.address() as { port: number }).port;
  const upstream: Upstream = { port: silentPort, namespace: 'veloz', pod: 'mute-0', alive: () => alive };
  listener = new GatewayListener('veloz/edge', () => ({ ok: true, upstream, headers: {} }), {
    responseMs: 300,
    idleMs: 60_000,
  });
  await listener.listen();
});

afterAll(async () => {
  await listener.close();
  for (const s of held) s.destroy();
  await new Promise<void>((r) => silent.close(() => r()));
});

test('a request the pod never answers gets 504 at the deadline, naming the pod', async () => {
  const started = Date.now();
  const res = await fetch(`${listener.url}/api/market`, { signal: AbortSignal.timeout(10_000) });
  expect(res.status).toBe(504);
  expect(await res.json()).toEqual({
    error: 'upstream_timeout',
    message: expect.stringContaining('pod veloz/mute-0 did not answer within 300 ms'),
  });
  expect(Date.now() - started).toBeLessThan(5_000);
  expect(listener.connections).toBe(0);
});

test('an upgrade the pod never answers gets 504 too', async () => {
  const ws = new WebSocket(`${listener.url.replace('http', 'ws')}/ws/market`);
  const status = await new Promise<number>((resolve) => {
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => resolve(-1));
  });
  expect(status).toBe(504);
});

test('a connection whose pod goes away is dropped by the next sweep', async () => {
  alive = true;
  // A long deadline here: only the sweep may close it.
  const upstream: Upstream = { port: silentPort, namespace: 'veloz', pod: 'mute-0', alive: () => alive };
  const patient = new GatewayListener('veloz/edge', () => ({ ok: true, upstream, headers: {} }), {
    responseMs: 60_000,
    idleMs: 60_000,
  });
  await patient.listen();
  const ws = new WebSocket(`${patient.url.replace('http', 'ws')}/ws/market`);
  ws.on('error', () => undefined);
  const closed = new Promise<void>((r) => ws.on('close', () => r()));
  await new Promise((r) => setTimeout(r, 100));
  expect(patient.connections).toBe(1);
  alive = false;
  patient.sweep();
  await closed;
  expect(patient.connections).toBe(0);
  await patient.close();
});
