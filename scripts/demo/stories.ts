/**
 * The demo's two stories and what each must end with. Story 1 deploys a good release; story 2 a
 * release whose error rate climbs to 8% a few seconds after its pods start, i.e. after promotion,
 * so the monitoring window decides `rollback` and the rollback job restores the previous release.
 */
import { CHART, IMAGE, VALUES_PRODUCTION, type DemoCluster, type Driver } from './cluster';
import type { DeployInputs, JobRun } from './pipeline';

export interface Story {
  title: string;
  /** What the sandbox is told before the deploy (e.g. a degrade profile for the new image). */
  setup?: { describe: string; apply(cluster: DemoCluster): void };
  deploy: DeployInputs;
  /** Problems with how the story ended; empty when it ended as expected. */
  check(jobs: JobRun[], cluster: DemoCluster): Promise<string[]>;
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
  const target = driver === 'kubectl' ? { image: IMAGE } : { chart: CHART, valuesFiles: VALUES_PRODUCTION };
  return [
    {
      title: 'Story 1 · a good release: 1.0.0 → 1.1.0',
      expected: 'every job green, verdict PASS, no rollback, 1.1.0 on 2 pods',
      deploy: { ...base, version: '1.1.0', validationDuration: '5s', ...target },
      async check(jobs, cluster) {
        const problems = expectResults(jobs, { rollback: 'skipped' });
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

function find(jobs: JobRun[], name: JobRun['job']): JobRun | undefined {
  return jobs.find((j) => j.job === name);
}

function expectResults(jobs: JobRun[], overrides: Partial<Record<JobRun['job'], JobRun['result']>>): string[] {
  const problems: string[] = [];
  for (const job of jobs) {
    const want = overrides[job.job] ?? 'success';
    if (job.result !== want) problems.push(`${job.job} ended ${job.result}, expected ${want}`);
  }
  return problems;
}

/** Waits (briefly) for old pods to finish terminating, then compares the engine images. */
async function expectImages(cluster: DemoCluster, version: string): Promise<string[]> {
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
