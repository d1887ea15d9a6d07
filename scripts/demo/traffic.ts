/**
 * Story 1's users: a fleet of WebSocket clients and a request rate through the Gateway, started before
 * the deploy and measured until after it (packages/harness's fleet), and the one line the demo prints
 * about what they felt next to what the canary set.
 */
import { startFleet, type FleetReport } from '@veloz/harness';
import type { DemoCluster } from './cluster';
import type { JobRun } from './pipeline';

/** After the deploy: the old pods have gone and every client is back, within this. */
const SETTLE_MS = 30_000;

/** Runs `deploy` with the fleet on the Gateway; the report covers the deploy and its aftermath only. */
export async function withTraffic<T>(
  cluster: DemoCluster,
  traffic: { clients: number; requestsPerSecond: number },
  version: string,
  deploy: (gatewayUrl: string) => Promise<T>,
): Promise<{ result: T; report: FleetReport }> {
  const url = await cluster.gatewayUrl();
  const fleet = await startFleet({ url, kind: 'ws', ...traffic, connectWithinMs: 0 });
  try {
    await fleet.waitConnected(20_000);
    fleet.resetCounters();
    const result = await deploy(url);
    await settle(cluster, version, () => fleet.waitConnected(Math.max(1000, SETTLE_MS)));
    return { result, report: fleet.report() };
  } finally {
    await fleet.stop();
  }
}

async function settle(cluster: DemoCluster, version: string, connected: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + SETTLE_MS;
  while (cluster.engineImages().some((image) => !image.endsWith(`:${version}`)) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  // a client still away then is a result the line shows, not an error
  await connected().catch(() => undefined);
  await new Promise((r) => setTimeout(r, 1000)); // a last close after the pods are gone still counts
}

/** `40 WebSocket clients: reconnects per client mean 0.55, max 1 · failed requests 0 of 1234 · …` */
export function trafficLine(report: FleetReport, jobs: JobRun[], canaryVersion: string): string {
  const canary = jobs.find((j) => j.job === 'canary');
  const validated = jobs.find((j) => j.job === 'validate-canary');
  const weight = canary?.outputs['canary-weight'] || '?';
  const observed = validated?.outputs['observed-share'] || 'not measured';
  const stillAway = report.clients.filter((c) => !c.connected).length;
  return [
    `${report.clients.length} WebSocket clients: reconnects per client mean ${report.reconnects.mean.toFixed(2)}, max ${report.reconnects.max}`,
    `failed requests ${report.requests.failed} of ${report.requests.total}`,
    `green (${canaryVersion}) observed share ${observed} at weight ${weight}`,
    ...(stillAway ? [`${stillAway} client(s) not reconnected`] : []),
  ].join(' · ');
}
