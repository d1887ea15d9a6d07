/**
 * Issue 28 item 3 with the Service alone (no router), through the bundles on helm 3, helm 4 and
 * kubectl: 40 long-lived WebSocket clients, each (re)connecting to one of the Service's Ready
 * endpoints as kube-proxy would pick it, across canary and promote. Each client reconnects at most
 * once, never to a pod that the same promotion terminates later, and no connection attempt fails.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { WebSocket } from 'ws';
import { CHART, IMAGE, VALUES_PRODUCTION, installServing, startCluster, type Cluster } from '../support/cluster';
import { endpointPods } from './side-by-side-support';

const CLIENTS = 40;

interface Client {
  pods: string[];
  reconnects: number;
  failures: number;
  socket?: WebSocket;
}

/** Clients that pick a Ready endpoint of the Service at random on every (re)connect. */
function serviceClients(cluster: Cluster, n: number) {
  let stopped = false;
  const clients: Client[] = Array.from({ length: n }, () => ({ pods: [], reconnects: 0, failures: 0 }));
  const connect = (c: Client): void => {
    if (stopped) return;
    const ready = endpointPods(cluster.sandbox);
    const pod = ready[Math.floor(Math.random() * ready.length)];
    const engine = pod ? cluster.sandbox.engineOf('veloz', pod) : undefined;
    if (!pod || !engine) {
      c.failures++;
      setTimeout(() => connect(c), 50);
      return;
    }
    const socket = new WebSocket(`${engine.url.replace('http', 'ws')}/ws/market`);
    c.socket = socket;
    socket.once('open', () => c.pods.push(pod));
    socket.once('error', () => c.failures++);
    socket.once('close', () => {
      if (stopped) return;
      c.reconnects++;
      setTimeout(() => connect(c), 20);
    });
  };
  clients.forEach(connect);
  return {
    clients,
    connected: () => clients.every((c) => c.socket?.readyState === WebSocket.OPEN),
    stop() {
      stopped = true;
      for (const c of clients) c.socket?.close();
    },
  };
}

describe.each([
  ['helm3', { driver: 'helm', chart: CHART, 'values-files': VALUES_PRODUCTION }],
  ['helm4', { driver: 'helm', chart: CHART, 'values-files': VALUES_PRODUCTION }],
  ['kubectl', { driver: 'kubectl', image: IMAGE }],
] as const)('promotion with the Service alone, %s', (tool, driverInputs) => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ helm: tool === 'helm4' ? 'helm4' : 'helm3' });
    await installServing(cluster, '1.0.0');
  }, 120_000);
  afterAll(async () => cluster?.stop());

  const canary = (inputs: Record<string, string>) =>
    runActionBundle(
      'canary',
      { ...driverInputs, timeout: '60s', 'drain-timeout': '5s', ...inputs },
      { env: cluster.env, timeoutMs: 120_000 },
    );

  test.each([
    ['1.1.0', 'new pods Ready together'],
    // Kubernetes frees one old pod per new pod that becomes available: pods Ready at different moments
    // would free old pods one by one, and a client moved off the first could land on the second
    ['1.2.0', 'new pods Ready up to 3 s apart'],
  ])(
    '40 clients through canary and promote to %s (%s): one reconnect each, never onto a pod that goes later',
    async (version) => {
      if (version === '1.2.0') cluster.sandbox.setProfile(`${IMAGE}:1.2.0`, 'healthy:spread=3s');
      expect((await canary({ phase: 'canary', version })).exitCode).toBe(0);
      const fleet = serviceClients(cluster, CLIENTS);
      const deleted = new Set<string>();
      const stopWatch = cluster.sandbox.registry.store.subscribe((event) => {
        if (event.resource !== 'pods' && !event.resource.endsWith('/pods')) return;
        const meta = (event.object as { metadata: { name?: string; deletionTimestamp?: string } }).metadata;
        if (meta.deletionTimestamp || event.type === 'DELETED') deleted.add(meta.name ?? '');
      });
      try {
        for (let i = 0; i < 100 && !fleet.connected(); i++) await new Promise((r) => setTimeout(r, 50));
        expect(fleet.connected()).toBe(true);
        const before = new Set(endpointPods(cluster.sandbox));
        const run = await canary({ phase: 'promote', version });
        expect(run.errors).toEqual([]);
        expect(run.exitCode).toBe(0);
        for (let i = 0; i < 200 && !fleet.connected(); i++) await new Promise((r) => setTimeout(r, 50));
        expect(fleet.connected()).toBe(true);
        const reconnects = fleet.clients.map((c) => c.reconnects);
        expect(Math.max(...reconnects)).toBe(1);
        // every client was on an old pod (blue 1.0.0 or green) and moved once, onto a pod no one terminated
        expect(reconnects.every((n) => n === 1)).toBe(true);
        for (const c of fleet.clients) {
          expect(before.has(c.pods[0]!)).toBe(true);
          expect(deleted.has(c.pods[1]!)).toBe(false);
        }
        expect(fleet.clients.reduce((n, c) => n + c.failures, 0)).toBe(0);
      } finally {
        stopWatch();
        fleet.stop();
      }
    },
  );
});
