/**
 * Figure 12 — what long-lived clients feel through canary and promotion (issue 28): 40 WebSocket
 * market-data clients (each reconnecting when closed) and a steady request rate through the sandbox's
 * Gateway, for four ways of shipping 1.0.0 → 1.1.0 in the same run: side by side with route weights,
 * side by side with the Service alone (green's share is its replica share), in place, and a plain
 * `helm upgrade` rolling update. Reported: reconnects per client (mean, max), failed requests, and for
 * the weighted canary the share of requests green really served against the weight set.
 */
import { startFleet, type Fleet, type FleetReport } from '@veloz/harness';
import {
  CHART,
  IMAGE,
  NAMESPACE,
  VALUES_PRODUCTION,
  startBenchCluster,
  upgradeArgv,
  type BenchCluster,
} from './cluster';
import { alternating, progress, sleep, stats, type RepeatedRuns, type Section } from './lib';

const MODES = ['side-by-side, weights', 'side-by-side, Service alone', 'in-place', 'helm upgrade'] as const;
type Mode = (typeof MODES)[number];

export interface TrafficOptions extends RepeatedRuns {
  clients: number;
  requestsPerSecond: number;
  /** Requests green's share is measured over, during the weighted canary. */
  shareRequests: number;
}

const GATEWAY = ['gateway.enabled=true'];
const WEIGHT = 5;
const ROUTER = { 'traffic-router': 'gateway-api', 'http-route': 'veloz-engine', 'canary-weight': `${WEIGHT}%` };

interface Sample {
  meanReconnects: number;
  maxReconnects: number;
  movedTwice: number;
  failed: number;
  requests: number;
  /** Why requests failed, `reason ×count`. */
  failures: string[];
  /** Clients with no open stream a minute after the old pods were gone. */
  disconnected: number;
  /** Weighted canary only: green's share of requests over the measuring window, in percent. */
  share?: number;
  shareRequests?: number;
}

async function shipWith(mode: Mode, c: BenchCluster): Promise<void> {
  const common = {
    chart: CHART,
    'values-files': VALUES_PRODUCTION,
    set: GATEWAY.join('\n'),
    timeout: '120s',
    'drain-timeout': '5s',
  };
  if (mode === 'helm upgrade') {
    const r = await c.helm(
      'helm3',
      upgradeArgv(
        '1.1.0',
        GATEWAY.flatMap((s) => ['--set', s]),
        '120s',
      ),
    );
    if (r.code !== 0) throw new Error(`helm upgrade failed: ${r.stderr.trim()}`);
    return;
  }
  const strategy = mode === 'in-place' ? 'in-place' : 'side-by-side';
  const router = mode === 'side-by-side, weights' ? ROUTER : {};
  const promote = await c.action('canary', { ...common, ...router, strategy, phase: 'promote', version: '1.1.0' });
  if (promote.exitCode !== 0) throw new Error(`${mode} promote failed: ${promote.errors.join(' | ')}`);
}

async function canaryWith(mode: Mode, c: BenchCluster, fleet: Fleet, o: TrafficOptions): Promise<Partial<Sample>> {
  if (mode === 'helm upgrade') return {};
  const strategy = mode === 'in-place' ? 'in-place' : 'side-by-side';
  const router = mode === 'side-by-side, weights' ? ROUTER : {};
  const common = {
    chart: CHART,
    'values-files': VALUES_PRODUCTION,
    set: GATEWAY.join('\n'),
    timeout: '120s',
    'drain-timeout': '5s',
  };
  const canary = await c.action('canary', { ...common, ...router, strategy, phase: 'canary', version: '1.1.0' });
  if (canary.exitCode !== 0) throw new Error(`${mode} canary failed: ${canary.errors.join(' | ')}`);
  if (mode !== 'side-by-side, weights') return {};
  // the window's own counts: the difference of two cumulative reports, so reconnects keep counting
  const counted = (r: FleetReport) => Object.values(r.counts.byVersion).reduce((n, v) => n + v, 0);
  const start = fleet.report();
  const deadline = Date.now() + (o.shareRequests / o.requestsPerSecond) * 3000 + 10_000;
  while (counted(fleet.report()) - counted(start) < o.shareRequests && Date.now() < deadline) await sleep(200);
  const end = fleet.report();
  const green = (end.counts.byVersion['1.1.0'] ?? 0) - (start.counts.byVersion['1.1.0'] ?? 0);
  const total = counted(end) - counted(start);
  return { share: (100 * green) / Math.max(1, total), shareRequests: total };
}

async function once(mode: Mode, o: TrafficOptions): Promise<Sample> {
  const c = await startBenchCluster({ podStartupDelayMs: o.podStartupDelayMs });
  let fleet: Fleet | undefined;
  try {
    await c.install(
      '1.0.0',
      GATEWAY.flatMap((s) => ['--set', s]),
    ); // 2 replicas, autoscaler on
    await c.sandbox.waitFor('deployments', NAMESPACE, 'veloz-engine', (d) => {
      const s = d?.status as { readyReplicas?: number } | undefined;
      return s?.readyReplicas === 2;
    });
    const url = await c.sandbox.gatewayUrl(NAMESPACE, 'veloz-gateway');
    fleet = await startFleet({ url, clients: o.clients, kind: 'ws', requestsPerSecond: o.requestsPerSecond });
    await fleet.waitConnected(20_000);
    fleet.resetCounters();
    const measured = await canaryWith(mode, c, fleet, o);
    await shipWith(mode, c);
    const disconnected = await settled(c, fleet);
    const r: FleetReport = fleet.report();
    return {
      meanReconnects: r.reconnects.mean,
      maxReconnects: r.reconnects.max,
      movedTwice: r.reconnects.clientsReconnectingMoreThanOnce,
      failed: r.requests.failed,
      failures: r.requests.failures.map((f) => `${f.reason} ×${f.count}`),
      requests: r.requests.total,
      disconnected,
      ...measured,
    };
  } finally {
    await fleet?.stop();
    await c.stop();
  }
}

/**
 * Until only 1.1.0 pods are left and every client is connected again (bounded); the clients still not
 * connected then are a result, not an error: they are what a user would have seen.
 */
async function settled(c: BenchCluster, fleet: Fleet): Promise<number> {
  const deadline = Date.now() + 60_000;
  const oldLeft = () =>
    (c.sandbox.list('pods', NAMESPACE) as { spec?: { containers?: { image?: string }[] } }[]).some(
      (p) => p.spec?.containers?.[0]?.image !== `${IMAGE}:1.1.0`,
    );
  while (oldLeft() && Date.now() < deadline) await sleep(100);
  try {
    await fleet.waitConnected(Math.max(1000, deadline - Date.now()));
  } catch (error) {
    progress(`traffic: ${error instanceof Error ? error.message : String(error)}`);
  }
  await sleep(1000); // a last close after the pods are gone still counts
  return fleet.report().clients.filter((client) => !client.connected).length;
}

export async function trafficFigure(o: TrafficOptions): Promise<Section> {
  const samples = await alternating('traffic', MODES, o.repeats, (mode) => once(mode, o));
  const rows = MODES.map((mode) => {
    const list = samples[mode];
    const mean = stats(list.map((s) => s.meanReconnects));
    const max = Math.max(...list.map((s) => s.maxReconnects));
    const twice = stats(list.map((s) => s.movedTwice));
    const failed = list.reduce((n, s) => n + s.failed, 0);
    const requests = list.reduce((n, s) => n + s.requests, 0);
    return [
      mode,
      mean.median.toFixed(2),
      String(max),
      `${twice.median} of ${o.clients}`,
      `${failed} of ${requests}${failed ? ` (${[...new Set(list.flatMap((s) => s.failures))].join('; ')})` : ''}`,
      String(list.reduce((n, s) => n + s.disconnected, 0)),
      list.map((s) => `${s.meanReconnects.toFixed(2)}/${s.maxReconnects}`).join(', '),
    ];
  });
  const weighted = samples['side-by-side, weights'];
  const shares = weighted.map((s) => s.share ?? Number.NaN);
  const worstShare = Math.max(...shares.map((s) => Math.abs(s - WEIGHT)));
  const maxWeighted = Math.max(...weighted.map((s) => s.maxReconnects));
  const maxService = Math.max(...samples['side-by-side, Service alone'].map((s) => s.maxReconnects));
  const ours = [...weighted, ...samples['side-by-side, Service alone']];
  const failedOurs = ours.reduce((n, s) => n + s.failed + s.disconnected, 0);
  const met = maxWeighted === 1 && maxService === 1 && failedOurs === 0 && worstShare <= 2;
  const fmt = (v: number) => `${v.toFixed(1)}%`;
  return {
    key: 'traffic',
    title: '12. Traffic, not pods: reconnects per client and the share green really served',
    goal: `side by side (weights or the Service alone): max reconnects per client 1 and no failed request through canary + promote; the weighted canary's observed share within 2 points of its ${WEIGHT}% weight`,
    met,
    verdict:
      `Max reconnects per client through canary + promote: side by side with weights ${maxWeighted}, with the Service alone ${maxService}, ` +
      `in place ${Math.max(...samples['in-place'].map((s) => s.maxReconnects))}, plain \`helm upgrade\` ${Math.max(...samples['helm upgrade'].map((s) => s.maxReconnects))}; ` +
      `failed requests and clients left disconnected side by side: ${failedOurs}. Weighted canary: green served ${shares.map(fmt).join(', ')} of requests at weight ${WEIGHT}% ` +
      `(over ${weighted.map((s) => s.shareRequests ?? 0).join(', ')} requests).`,
    tables: [
      {
        columns: [
          'how 1.1.0 ships',
          'reconnects per client, mean (median run)',
          'max reconnects per client (all runs)',
          'clients reconnecting more than once (median run)',
          'failed requests (all runs)',
          'clients left disconnected (all runs)',
          'each run: mean/max',
        ],
        rows,
      },
      {
        columns: ['weighted canary run', 'weight set', 'share of requests green served', 'requests measured'],
        rows: weighted.map((s, i) => [
          String(i + 1),
          `${WEIGHT}%`,
          fmt(s.share ?? Number.NaN),
          String(s.shareRequests),
        ]),
      },
    ],
    method:
      `${o.repeats} run(s) per way, alternating, each on a fresh sandbox (pod start-up ${o.podStartupDelayMs} ms) with 1.0.0 installed ` +
      'from the fixture chart with values-production (2 replicas, autoscaler on) and `gateway.enabled=true` (a Gateway and an ' +
      `HTTPRoute sending \`/\` to the engine Service). The client fleet (packages/harness/src/fleet.ts) opens ${o.clients} WebSocket ` +
      `streams to \`/ws/market\` through the Gateway's 127.0.0.1 listener, each reconnecting when closed, and sends ${o.requestsPerSecond} ` +
      'requests/s to `/api/market`; the gateway data plane picks a backendRef by weight and a Ready, non-terminating pod behind it, and ' +
      "drops a connection when its pod goes. The canary and promote are our canary bundle (node24, helm 3 driver); 'helm upgrade' is " +
      '`helm upgrade --wait` to 1.1.0 (a rolling update). Reconnects and failed requests are counted from the start of the canary (or the upgrade) until ' +
      'only 1.1.0 pods are left and every client is connected again, plus one second. The share is measured right after the weighted ' +
      `canary, over the next ${o.shareRequests} responses, from the X-Veloz-Version header of each.`,
  };
}
