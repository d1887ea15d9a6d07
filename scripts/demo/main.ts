/**
 * `npm run demo`: the runbook end to end on a laptop. Starts the sandbox cluster, installs release
 * 1.0.0 of the fixture chart with the real helm, then runs deploy.yml's job chain through the
 * committed dist bundles for two stories, printing each job's report as terminal text.
 */
import { startDemoCluster, type DemoCluster, type Driver } from './cluster';
import { requirePrograms } from '@veloz/harness/prerequisites';
import { startTogether } from '@veloz/harness/servers/server-process';
import { startDemoDataTier } from './data-tier';
import type { JobRun } from './pipeline';
import { showDeploy, type Screen } from './show';
import { runWaves, type WavesResult } from './waves';
import type { Terminal } from './progress';
import { makeStyle, seconds, type Style } from './render';
import { stories, type Story } from './stories';
import { trafficLine, withTraffic } from './traffic';
import type { FleetReport } from '@veloz/harness';

export interface DemoOptions {
  driver?: Driver;
  /** Keep the sandbox up afterwards until `untilStopped` resolves (Ctrl-C in the CLI). */
  keep?: boolean;
  untilStopped?: () => Promise<void>;
  out?: Terminal;
  /** Colour and the live progress line; default: when `out` is a TTY and NO_COLOR is unset. */
  tty?: boolean;
  /** More than 1: one release across this many sandbox clusters in waves (scripts/demo/waves.ts). */
  clusters?: number;
  /** With `clusters`: the cluster where the new version fails (shows on-failure rollback-all). */
  failIn?: string;
}

export interface StoryResult {
  title: string;
  ok: boolean;
  problems: string[];
  jobs: JobRun[];
  /** What the clients through the Gateway felt (stories with traffic). */
  traffic?: FleetReport;
}

export interface DemoResult {
  ok: boolean;
  stories: StoryResult[];
  /** With `clusters` > 1: the wave release instead of the stories. */
  waves?: WavesResult;
  durationMs: number;
}

const DRIVER_LABEL: Record<Driver, string> = { helm3: 'helm 3', helm4: 'helm 4', kubectl: 'kubectl' };

export async function main(options: DemoOptions = {}): Promise<DemoResult> {
  const out = options.out ?? process.stdout;
  const tty = options.tty ?? (!!out.isTTY && !process.env.NO_COLOR);
  const s = makeStyle(tty);
  const print = (line = ''): void => void out.write(`${line}\n`);
  const driver = options.driver ?? 'helm3';
  const started = Date.now();
  // Before anything starts: a missing program fails here, naming it, its package and `npm run setup`.
  requirePrograms('the demo', 'demo');

  print(s.bold('VeloZ deploy demo: the runbook as .github/workflows/deploy.yml runs it'));
  print(s.dim(`driver ${DRIVER_LABEL[driver]} · each job runs its action's dist bundle through the runner protocol`));
  if ((options.clusters ?? 1) > 1) return inWaves(driver, options, { out, s, tty, print }, started);
  const [cluster, dataTier] = await startTogether([startDemoCluster(driver), startDemoDataTier()]);
  const results: StoryResult[] = [];
  try {
    await cluster.install('1.0.0');
    print(s.dim(`sandbox API server ${cluster.sandbox.url} · release veloz 1.0.0 installed with ${cluster.helmBin}`));
    print(s.dim(`data tier: ${dataTier.describe}`));
    for (const story of stories(driver, dataTier.inputs))
      results.push(await runStory(story, cluster, out, s, tty, print));

    const ok = results.every((r) => r.ok);
    print();
    print(
      ok
        ? s.green(s.bold(`✓ Both stories ended as expected in ${seconds(Date.now() - started)}.`))
        : s.red(s.bold(`✗ ${results.filter((r) => !r.ok).length} story(ies) did not end as expected.`)),
    );
    if (options.keep) await keepRunning(cluster, print, s, options.untilStopped);
    return { ok, stories: results, durationMs: Date.now() - started };
  } finally {
    await Promise.all([cluster.stop(), dataTier.stop()]);
  }
}

async function inWaves(driver: Driver, options: DemoOptions, screen: Screen, started: number): Promise<DemoResult> {
  const { s, print } = screen;
  const clusters = options.clusters ?? 2;
  print(s.dim(`${clusters} clusters, each its own sandbox and kubeconfig, released in waves as waves.yml does`));
  const waves = await runWaves(driver, clusters, screen, options.failIn);
  print();
  for (const p of waves.problems) print(s.red(`  - ${p}`));
  print(
    waves.ok
      ? s.green(
          s.bold(
            options.failIn
              ? `✓ as expected: ${options.failIn} failed, later waves did not start, every cluster before it rolled back (${seconds(Date.now() - started)}).`
              : `✓ ${clusters} clusters promoted wave by wave in ${seconds(Date.now() - started)}.`,
          ),
        )
      : s.red(s.bold(`✗ the wave release did not end as expected.`)),
  );
  return { ok: waves.ok, stories: [], waves, durationMs: Date.now() - started };
}

async function runStory(
  story: Story,
  cluster: DemoCluster,
  out: Terminal,
  s: Style,
  tty: boolean,
  print: (line?: string) => void,
): Promise<StoryResult> {
  print();
  print(s.cyan(s.bold(`━━ ${story.title} ━━`)));
  if (story.setup) {
    story.setup.apply(cluster);
    print(s.dim(story.setup.describe));
  }
  const deploy = (gatewayUrl?: string) =>
    showDeploy(gatewayUrl ? { ...story.deploy, gatewayUrl } : story.deploy, cluster, { out, s, tty, print });
  let jobs: JobRun[];
  let traffic: FleetReport | undefined;
  if (story.traffic) {
    print(
      s.dim(
        `users: ${story.traffic.clients} WebSocket clients and ${story.traffic.requestsPerSecond} requests/s through Gateway veloz-gateway`,
      ),
    );
    ({ result: jobs, report: traffic } = await withTraffic(cluster, story.traffic, story.deploy.version, deploy));
    print(`${s.bold('users:')} ${trafficLine(traffic, jobs, story.deploy.version)}`);
  } else jobs = await deploy();
  const problems = await story.check(jobs, cluster, traffic);
  const ok = problems.length === 0;
  print(ok ? s.green(`✓ as expected: ${story.expected}`) : s.red(`✗ not as expected (${story.expected}):`));
  for (const p of problems) print(s.red(`  - ${p}`));
  return { title: story.title, ok, problems, jobs, ...(traffic ? { traffic } : {}) };
}

async function keepRunning(
  cluster: DemoCluster,
  print: (line?: string) => void,
  s: Style,
  untilStopped: (() => Promise<void>) | undefined,
): Promise<void> {
  print();
  print(s.bold('The sandbox stays up (Ctrl-C stops it). Try:'));
  print(`  export KUBECONFIG=${cluster.kubeconfigPath}`);
  print(`  ${cluster.kubectlBin} get deployments,replicasets,pods -n veloz`);
  print(`  ${cluster.helmBin} history veloz -n veloz`);
  print(`  ${cluster.kubectlBin} logs -n veloz deployment/veloz-engine --tail 20`);
  print(`  ${cluster.kubectlBin} get --raw /api/v1/namespaces/veloz/services/veloz-engine:8080/proxy/health`);
  await (untilStopped ?? waitForSignal)();
  print(s.dim('Stopping the sandbox.'));
}

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
