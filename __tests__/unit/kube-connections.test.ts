/**
 * API calls share their connections (issue 30): client-node 1.4 alone opens a new TCP and TLS
 * connection for every request. A TCP relay in front of the sandbox API server counts connections.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { startSandbox, type Sandbox } from '@veloz/sandbox';
import { connectKube } from '@veloz/shared/kube/client';

let sb: Sandbox;
let relay: Server;
let relayed = 0;
const sockets = new Set<Socket>();

beforeAll(async () => {
  sb = await startSandbox({ engines: false, podStartupDelayMs: 50 });
  const target = new URL(/server:\s*(\S+)/.exec(sb.kubeconfig)![1]!);
  relay = createServer((inbound) => {
    relayed++;
    const outbound = createConnection(Number(target.port), target.hostname);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => sockets.delete(s));
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
}, 60_000);
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => relay?.close(resolve));
  await sb?.stop();
});

test('sequential calls, and calls of different API groups, go over one connection', async () => {
  const port = (relay.address() as { port: number }).port;
  const kubeconfig = sb.kubeconfig.replace(/(server:\s*https:\/\/127\.0\.0\.1:)\d+/, `$1${port}`);
  const kube = await connectKube(kubeconfig);
  for (let i = 0; i < 4; i++) await kube.core.listNamespace();
  await kube.apps.listNamespacedDeployment({ namespace: 'veloz' });
  await kube.coordination.listNamespacedLease({ namespace: 'veloz' });
  expect(relayed).toBe(1);
  // Concurrent calls need a connection each, and then keep them.
  await Promise.all([1, 2, 3].map(() => kube.core.listNamespace()));
  const afterBurst = relayed;
  expect(afterBurst).toBeLessThanOrEqual(3);
  await Promise.all([1, 2, 3].map(() => kube.core.listNamespace()));
  expect(relayed).toBe(afterBurst);
});
