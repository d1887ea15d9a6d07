/**
 * The demo's two stories and what each must end with. Story 1 deploys a good release as a 5% weighted
 * canary on the chart's HTTPRoute while 40 WebSocket clients and a request rate go through the Gateway,
 * and must end with every client reconnected at most once and no failed request; story 2 a
 * release whose error rate climbs to 8% a few seconds after its pods start, i.e. after promotion,
 * so the monitoring window decides `rollback` and the rollback job restores the previous release.
 */
import type { FleetReport } from '@veloz/harness';
import { CHART, GATEWAY_SET, HTTP_ROUTE, IMAGE, VALUES_PRODUCTION, type DemoCluster, type Driver } from './cluster';
import type { DeployInputs, JobRun } from './pipeline';

/** The users of story 1, through the Gateway from before the deploy until after it. */
export const TRAFFIC = { clients: 40, requestsPerSecond: 40 };
/** Story 1's weighted canary: deploy.yml's router inputs. */
export const ROUTER = {
  'traffic-router': 'gateway-api',
  'http-route': HTTP_ROUTE,
  'canary-weight': '5%',
  'drain-timeout': '5s',
};

export interface Story {
  title: string;
  /** What the sandbox is told before the deploy (e.g. a degrade profile for the new image). */
  setup?: { describe: string; apply(cluster: DemoCluster): void };
  deploy: DeployInputs;
  /** Clients through the Gateway during the deploy (the deploy's gateway-url is set to it). */
  traffic?: typeof TRAFFIC;
  /** Problems with how the story ended; empty when it ended as expected. */
  check(jobs: JobRun[], cluster: DemoCluster, traffic?: FleetReport): Promise<string[]>;
  expected: string;
}

/** The second Tuesday of this month at 11:00 UTC: inside Mon-Thu 10:00-14:00, far from month-end. */
export function rehearsalTime(now = new Date()): string {
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1, 11));
  const offset = (2 - first.getUTCDay() + 7) % 7;
  first.setUTCDate(1 + offset + 7);
  return first.toISOString();
}

// Degrades this long after each pod starts: after the canary's one validation pass (with its data-tier
// checks, a few seconds after the pod starts), during the window.
const DEGRADE_AFTER = '10s';

export function stories(driver: Driver, dataTier?: Record<string, string>): Story[] {
  const base = {
    environment: 'production',
    driver: driver === 'kubectl' ? ('kubectl' as const) : ('helm' as const),
    preflightChecks: `cluster, capacity, release, rbac, network-policy, window${dataTier ? ', postgres, redis' : ''}`,
    dataTier,
    window: { 'evaluate-at': rehearsalTime() },
    validationInterval: '1s',
    validateExtra: {
      'sse-timeout': '2s',
      'websocket-timeout': '2s',
      'check-timeout': '5s',
      'rollback-error-rate-for': '3s',
    },
  };
  // helm upgrades keep the Gateway and HTTPRoute the demo installed; kubectl changes only the Deployment.
  const target =
    driver === 'kubectl' ? { image: IMAGE } : { chart: CHART, valuesFiles: VALUES_PRODUCTION, set: GATEWAY_SET };
  return [
    {
      title: 'Story 1 · a good release: 1.0.0 → 1.1.0',
      expected:
        'every job green, verdict PASS, no rollback, 1.1.0 on 2 pods, each client reconnected at most once, no failed request',
      deploy: { ...base, version: '1.1.0', validationDuration: '5s', ...target, router: ROUTER },
      traffic: TRAFFIC,
      async check(jobs, cluster, traffic) {
        const problems = expectResults(jobs, { rollback: 'skipped' });
        problems.push(...expectQuietUsers(traffic));
        const verdict = find(jobs, 'validate')?.outputs.verdict;
        if (verdict !== 'pass') problems.push(`validate verdict is ${verdict ?? 'missing'}, expected pass`);
        problems.push(...(await expectImages(cluster, '1.1.0')));
        return problems;
      },
    },
    {
      title: 'Story 2 · a bad release: 1.1.0 → 1.2.0, degrading after promotion',
      expected: 'validate says ROLLBACK, rollback restores 1.1.0 on 2 pods',
      setup: {
        describe: `sandbox profile ${IMAGE}:1.2.0 = degrade:after=${DEGRADE_AFTER},error-rate=8%`,
        apply: (cluster) =>
          cluster.sandbox.setProfile(`${IMAGE}:1.2.0`, `degrade:after=${DEGRADE_AFTER},error-rate=8%`),
      },
      deploy: { ...base, version: '1.2.0', validationDuration: '45s', ...target },
      async check(jobs, cluster) {
        const problems = expectResults(jobs, { rollback: 'success' });
        const verdict = find(jobs, 'validate')?.outputs.verdict;
        if (verdict !== 'rollback') problems.push(`validate verdict is ${verdict ?? 'missing'}, expected rollback`);
        const to = find(jobs, 'rollback')?.outputs['rolled-back-to'] ?? '';
        if (!to.includes('1.1.0')) problems.push(`rollback went to "${to}", expected 1.1.0`);
        problems.push(...(await expectImages(cluster, '1.1.0')));
        return problems;
      },
    },
  ];
}

/** What users felt: each stream moved at most once (off a retiring pod), and no request failed. */
function expectQuietUsers(traffic: FleetReport | undefined): string[] {
  if (!traffic) return ['no traffic report'];
  const problems: string[] = [];
  if (traffic.reconnects.max > 1)
    problems.push(`a client reconnected ${traffic.reconnects.max} times, expected at most 1`);
  if (traffic.requests.failed > 0)
    problems.push(
      `${traffic.requests.failed} request(s) failed (${traffic.requests.failures.map((f) => `${f.reason} ×${f.count}`).join(', ')}), expected 0`,
    );
  return problems;
}

function find(jobs: JobRun[], name: JobRun['job']): JobRun | undefined {
  return jobs.find((j) => j.job === name);
}

export function expectResults(jobs: JobRun[], overrides: Partial<Record<JobRun['job'], JobRun['result']>>): string[] {
  const problems: string[] = [];
  for (const job of jobs) {
    const want = overrides[job.job] ?? 'success';
    if (job.result !== want) problems.push(`${job.job} ended ${job.result}, expected ${want}`);
  }
  return problems;
}

/** Waits (briefly) for old pods to finish terminating, then compares the engine images. */
export async function expectImages(cluster: DemoCluster, version: string): Promise<string[]> {
  const want = [`${IMAGE}:${version}`, `${IMAGE}:${version}`];
  let images = cluster.engineImages();
  for (let i = 0; i < 100 && images.join() !== want.join(); i++) {
    await new Promise((r) => setTimeout(r, 100));
    images = cluster.engineImages();
  }
  return images.join() === want.join()
    ? []
    : [`pods run ${images.join(', ') || 'nothing'}, expected ${want.join(', ')}`];
}
