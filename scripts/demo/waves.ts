/**
 * `npm run demo -- --clusters N`: one release across N sandbox clusters, as waves.yml runs it. The
 * waves input is planned by the code `veloz-deploy waves plan` runs (cli/src/waves/plan.ts); each wave's
 * clusters then run deploy.yml's whole job chain against their own kubeconfig, one wave after the
 * other; a failed cluster stops the later waves and, with on-failure rollback-all, rolls back the
 * clusters already promoted. The end is the release summary `veloz-deploy waves summary` renders.
 */
import { ROLLBACK_ALL_MARK, type ClusterOutcome, type Verdict } from '../../cli/src/waves/outcome';
import { parseWaves, type WavePlan } from '../../cli/src/waves/plan';
import { renderWaveSummary } from '../../cli/src/waves/summary';
import { runActionBundle } from '@veloz/harness';
import { startTogether } from '@veloz/harness/servers/server-process';
import { IMAGE, startDemoCluster, type DemoCluster, type Driver } from './cluster';
import { showDeploy, type Screen } from './show';
import type { JobRun } from './pipeline';
import { table } from './render';
import { expectImages, expectResults, stories } from './stories';

export const MAX_CLUSTERS = 4;
const VERSION = '1.1.0';

/** The waves input a platform team would write: the first cluster alone, then the rest one at a time. */
export function wavesInput(clusters: number): string {
  const names = Array.from({ length: clusters }, (_, i) => `production-${i + 1}`);
  const rest = names.slice(1);
  return [
    'on-failure: rollback-all',
    'waves:',
    '  - name: canary cluster',
    `    clusters: [${names[0]}]`,
    ...(rest.length ? ['  - name: the rest', `    clusters: [${rest.join(', ')}]`, '    max-parallel: 1'] : []),
  ].join('\n');
}

interface Leg {
  wave: number;
  waveName: string;
  environment: string;
  cluster: DemoCluster;
  jobs?: JobRun[];
  byRollbackAll?: boolean;
  before?: string;
  /** `--fail-in` names it: a longer monitoring window, to see the degradation. */
  failing?: boolean;
}

export interface WavesResult {
  ok: boolean;
  plan: WavePlan;
  outcomes: ClusterOutcome[];
  problems: string[];
}

/**
 * `--fail-in CLUSTER`: the new version degrades there a few seconds after each pod starts, as in story 2:
 * after the green pod's one pass, inside the monitoring window (given time to see it), so that cluster's
 * validate decides rollback and its own rollback job restores 1.0.0.
 */
const FAILING = { profile: 'degrade:after=6s,error-rate=30%', validationDuration: '30s' };

export async function runWaves(
  driver: Driver,
  clusters: number,
  screen: Screen,
  failIn?: string,
): Promise<WavesResult> {
  const { s, print } = screen;
  const input = wavesInput(clusters);
  const parsed = parseWaves(input);
  if (!parsed.plan) throw new Error(`waves plan: ${parsed.errors.join('; ')}`);
  const plan = parsed.plan;
  print(s.dim('waves input:'));
  for (const line of input.split('\n')) print(s.dim(`  ${line}`));
  for (const [i, w] of plan.waves.entries()) print(`plan: wave ${i + 1} (${w.name}): ${w.clusters.join(', ')}`);

  const names = plan.waves.flatMap((w) => w.clusters);
  if (failIn && !names.includes(failIn)) throw new Error(`--fail-in ${failIn}: expected one of ${names.join(', ')}`);
  const started = await startTogether(names.map((name) => startDemoCluster(driver, `veloz-demo-${name}`)));
  try {
    await Promise.all(started.map((c) => c.install('1.0.0')));
    const legs: Leg[] = plan.waves.flatMap((w, i) =>
      w.clusters.map((environment) => ({
        wave: i + 1,
        waveName: w.name,
        environment,
        cluster: started[names.indexOf(environment)]!,
      })),
    );
    for (const leg of legs)
      print(s.dim(`${leg.environment}: sandbox ${leg.cluster.sandbox.url} · kubeconfig ${leg.cluster.kubeconfigPath}`));
    const failing = legs.find((l) => l.environment === failIn);
    if (failing) {
      failing.cluster.sandbox.setProfile(`${IMAGE}:${VERSION}`, FAILING.profile);
      failing.failing = true;
      print(s.dim(`${failIn}: sandbox profile ${IMAGE}:${VERSION} = ${FAILING.profile}`));
    }
    await runWavesInOrder(plan, legs, driver, screen);
    const outcomes = legs.map(outcomeOf);
    print();
    for (const line of summaryForTerminal(renderWaveSummary(plan, outcomes, { version: VERSION, runUrl: '' }), screen))
      print(line);
    const problems = failIn ? await expectRolledBack(legs, failIn) : await expectPromoted(legs);
    return { ok: problems.length === 0, plan, outcomes, problems };
  } finally {
    await Promise.all(started.map((c) => c.stop()));
  }
}

/** wave-1..wave-N: each waits for the one before; a failed cluster stops the rest (and rolls back, if asked). */
async function runWavesInOrder(plan: WavePlan, legs: Leg[], driver: Driver, screen: Screen): Promise<void> {
  const { s, print } = screen;
  const deploy = stories(driver)[0]!.deploy;
  for (const [i, wave] of plan.waves.entries()) {
    print();
    print(s.cyan(s.bold(`━━ Wave ${i + 1} · ${wave.name}: ${wave.clusters.join(', ')} ━━`)));
    for (const leg of legs.filter((l) => l.wave === i + 1)) {
      print(s.bold(`▸ ${leg.environment}`));
      leg.before = tagOf(leg.cluster.engineImages()[0]);
      const window = leg.failing ? { validationDuration: FAILING.validationDuration } : {};
      leg.jobs = await showDeploy(
        { ...deploy, ...window, environment: leg.environment, version: VERSION },
        leg.cluster,
        screen,
      );
    }
    const failed = legs.filter((l) => l.wave === i + 1 && verdictOf(l) !== 'promoted');
    if (failed.length === 0) continue;
    print(s.red(`✗ wave ${i + 1} failed in ${failed.map((l) => l.environment).join(', ')}: later waves do not start`));
    if (plan.onFailure === 'rollback-all') await rollbackAll(legs, i + 1, driver, screen);
    return;
  }
}

/** waves.yml's rollback-all: every cluster an earlier wave promoted goes back, its reason marked. */
async function rollbackAll(legs: Leg[], failedWave: number, driver: Driver, { s, print }: Screen): Promise<void> {
  for (const leg of legs.filter((l) => l.wave < failedWave && verdictOf(l) === 'promoted')) {
    const run = await runActionBundle(
      'rollback',
      {
        driver: driver === 'kubectl' ? 'kubectl' : 'helm',
        reason: `${ROLLBACK_ALL_MARK}, VeloZ ${VERSION} failed in a later wave`,
        environment: leg.environment,
      },
      { env: leg.cluster.env, timeoutMs: 120_000 },
    );
    leg.byRollbackAll = run.exitCode === 0;
    print(
      `${run.exitCode === 0 ? s.green('✓') : s.red('✗')} rollback-all ${leg.environment}: ${run.outputs['rolled-back-to'] ?? run.errors.join('; ')}`,
    );
  }
}

function verdictOf(leg: Leg): Verdict {
  if (leg.byRollbackAll) return 'rolled back';
  if (!leg.jobs) return 'not started';
  const result = (job: string) => leg.jobs!.find((j) => j.job === job)?.result;
  if (result('rollback') === 'success') return 'rolled back';
  const verdict = leg.jobs.find((j) => j.job === 'validate')?.outputs.verdict;
  return result('validate') === 'success' && verdict !== 'rollback' ? 'promoted' : 'failed';
}

/** What `veloz-deploy waves outcome` reads from the deployment records, taken from the demo's own runs. */
function outcomeOf(leg: Leg): ClusterOutcome {
  const durationMs = leg.jobs?.reduce((sum, j) => sum + j.durationMs, 0);
  const after = leg.jobs ? [...new Set(leg.cluster.engineImages().map(tagOf))].join(', ') : undefined;
  return {
    wave: leg.wave,
    waveName: leg.waveName,
    cluster: leg.environment,
    verdict: verdictOf(leg),
    byRollbackAll: !!leg.byRollbackAll,
    ...(leg.before ? { before: leg.before } : {}),
    ...(after ? { after } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
    environmentUrl: leg.cluster.sandbox.url,
  };
}

function tagOf(image: string | undefined): string {
  return image?.startsWith(`${IMAGE}:`) ? image.slice(IMAGE.length + 1) : (image ?? '');
}

/** Every cluster promoted: its chain green and VERSION on its two pods. */
async function expectPromoted(legs: Leg[]): Promise<string[]> {
  const problems: string[] = [];
  for (const leg of legs) {
    if (!leg.jobs) {
      problems.push(`${leg.environment}: not started`);
      continue;
    }
    const own = [...expectResults(leg.jobs, { rollback: 'skipped' }), ...(await expectImages(leg.cluster, VERSION))];
    problems.push(...own.map((p) => `${leg.environment}: ${p}`));
  }
  return problems;
}

/**
 * After a failure in `failIn`'s wave with rollback-all: the clusters before it and it are back on
 * 1.0.0 (by rollback-all, by its own rollback), the later waves never started.
 */
async function expectRolledBack(legs: Leg[], failIn: string): Promise<string[]> {
  const wave = legs.find((l) => l.environment === failIn)!.wave;
  const problems: string[] = [];
  for (const leg of legs) {
    const want: Verdict = leg.wave > wave ? 'not started' : 'rolled back';
    const got = verdictOf(leg);
    if (got !== want) problems.push(`${leg.environment}: ${got}, expected ${want}`);
    if (leg.wave <= wave)
      problems.push(...(await expectImages(leg.cluster, '1.0.0')).map((p) => `${leg.environment}: ${p}`));
  }
  return problems;
}

/**
 * The summary's Markdown for a terminal: the heading, the table aligned (without the Links column:
 * the demo has no GitHub), the Mermaid chart left out (GitHub draws it; the table says the same).
 */
export function summaryForTerminal(markdown: string, { s }: Pick<Screen, 's'>): string[] {
  const lines: string[] = [];
  const rows: string[][] = [];
  let inChart = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) inChart = !inChart;
    else if (inChart || /^\| -/.test(line)) continue;
    else if (line.startsWith('| '))
      rows.push(
        line
          .slice(2, -2)
          .split(' | ')
          .map((c) => c.trim())
          .slice(0, -1),
      );
    else if (line.startsWith('## ')) lines.push(s.bold(line.slice(3)));
    else if (line.startsWith('on-failure:')) lines.push(s.dim(line.replace(/ · \[this run\]\(\)/, '')));
  }
  const [columns, ...body] = rows;
  if (columns) lines.push(...table(columns, body, s).map((l) => `  ${l}`));
  return lines;
}
