import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { request as httpsRequest } from 'node:https';
import WebSocket from 'ws';
import { startSandbox, type Sandbox } from '@veloz/sandbox';

/** Reads a streaming HTTPS response until `enough` says so. */
function stream(
  sb: Sandbox,
  path: string,
  enough: (text: string) => boolean,
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL(path, sb.url),
      { ca: sb.caCert, headers: { authorization: `Bearer ${sb.token}` } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString('utf8');
          if (enough(text)) {
            req.destroy();
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text });
          }
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('pods/proxy, services/proxy and pods/log against engine doubles', () => {
  let sb: Sandbox;
  let pod: string;
  beforeAll(async () => {
    sb = await startSandbox({ podStartupDelayMs: 100, probeIntervalMs: 100, engineSyntheticRps: 0 });
    sb.apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'veloz-engine', namespace: 'veloz' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'veloz' } },
        template: {
          metadata: { labels: { app: 'veloz' } },
          spec: {
            containers: [
              {
                name: 'veloz-engine',
                image: 'veloz/engine:1.0.0',
                ports: [{ name: 'http', containerPort: 8080 }],
                readinessProbe: { httpGet: { path: '/health/ready', port: 'http' } },
              },
            ],
          },
        },
      },
    });
    sb.apply({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'veloz-engine', namespace: 'veloz' },
      spec: { selector: { app: 'veloz' }, ports: [{ name: 'http', port: 8080, targetPort: 'http' }] },
    });
    await sb.waitFor(
      'deployments',
      'veloz',
      'veloz-engine',
      (d) => (d?.status as { readyReplicas?: number } | undefined)?.readyReplicas === 1,
      20_000,
    );
    pod = sb.list('pods', 'veloz', 'app=veloz')[0]?.metadata.name ?? '';
  });
  afterAll(async () => {
    await sb.stop();
  });

  test('HTTP through pods/proxy and services/proxy, with the query string', async () => {
    const market = await sb.request('GET', `/api/v1/namespaces/veloz/pods/${pod}/proxy/api/market`);
    expect(market.status).toBe(200);
    expect(market.json).toHaveProperty('status');
    const viaService = await sb.request(
      'GET',
      '/api/v1/namespaces/veloz/services/veloz-engine:http/proxy/api/orders_state',
    );
    expect(viaService.json).toMatchObject({ count: expect.any(Number) });
    const noPod = await sb.request('GET', '/api/v1/namespaces/veloz/pods/nope/proxy/health');
    expect(noPod.json).toMatchObject({ code: 404, reason: 'NotFound' });
  });

  test('SSE streams through the proxy without buffering', async () => {
    const sse = await stream(sb, `/api/v1/namespaces/veloz/pods/${pod}/proxy/api/stream`, (t) => t.includes('\n\n'));
    expect(sse.status).toBe(200);
    expect(String(sse.headers['content-type'])).toContain('text/event-stream');
    expect(sse.text).toMatch(/data:/);
  });

  test('WebSocket upgrades through pods/proxy', async () => {
    const url = `${sb.url.replace('https', 'wss')}/api/v1/namespaces/veloz/pods/${pod}/proxy/ws/market`;
    const ws = new WebSocket(url, { ca: sb.caCert, headers: { authorization: `Bearer ${sb.token}` } });
    const first = await new Promise<string>((resolve, reject) => {
      ws.once('message', (data: Buffer) => resolve(data.toString('utf8')));
      ws.once('error', reject);
    });
    ws.close();
    expect(first.length).toBeGreaterThan(0);
    const denied = new WebSocket(url, { ca: sb.caCert });
    const code = await new Promise<number>((resolve) =>
      denied.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(code).toBe(401);
  });

  test('pods/log: tailLines, timestamps, follow', async () => {
    const tail = await sb.request('GET', `/api/v1/namespaces/veloz/pods/${pod}/log?tailLines=1&timestamps=true`);
    const lines = tail.text.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z /);
    const followed = stream(sb, `/api/v1/namespaces/veloz/pods/${pod}/log?follow=true&tailLines=0`, (t) =>
      t.includes('/api/order'),
    );
    await new Promise((r) => setTimeout(r, 100));
    // The API server's own credentials are not forwarded, so the engine rejects the order and logs it.
    const order = await sb.request('POST', `/api/v1/namespaces/veloz/pods/${pod}/proxy/api/order`, {
      side: 'buy',
      symbol: 'BTCUSDT',
      qty: 1,
      price: 1,
    });
    expect(order.status).toBe(401);
    expect((await followed).text).toMatch(/POST \/api\/order -> 401/);
    const wrong = await sb.request('GET', `/api/v1/namespaces/veloz/pods/${pod}/log?container=other`);
    expect(wrong.json).toMatchObject({ code: 400 });
  });
});
