/**
 * `npm run bench` → BENCHMARKS.md. Every figure of issue 10, each measured side by side with the tool a
 * user would otherwise run (bare node, kubectl, helm 3, helm 4), in the same run.
 *
 *   tsx bench/run.ts                       every figure, writes ./BENCHMARKS.md
 *   tsx bench/run.ts --quick --out FILE    1 start-up repeat and the API-economy figure only (the smoke test)
 *   tsx bench/run.ts --only startup,scale  a subset
 *   tsx bench/run.ts --only long-window --window-minutes 6   a shorter long window (the trend shows in 6)
 */
import { NODE24 } from '@veloz/harness';
import { toolPath } from '@veloz/sandbox';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { apiEconomyFigure } from './api-economy';
import { blueGreenFigure } from './blue-green';
import { snapshotBundles } from './bundles';
import { completionFigure } from './completion';
import { decisionFigure } from './decision';
import { longWindowFigure } from './long-window';
import { failureFigure } from './failure';
import { fanoutFigure } from './fanout';
import { progress, type Section } from './lib';
import { machineFacts, renderReport } from './report';
import { restoreFigure } from './restore';
import { scaleFigure } from './scale';
import { runtimes, startupFigure } from './startup';
import { takeoverFigure } from './takeover';
import { trafficFigure } from './traffic';

const FIGURES = [
  'startup',
  'completion',
  'failure',
  'restore',
  'fanout',
  'api-economy',
  'scale',
  'decision',
  'long-window',
  'blue-green',
  'takeover',
  'traffic',
] as const;
type Figure = (typeof FIGURES)[number];

interface Args {
  quick: boolean;
  out: string;
  only: Figure[];
  /** Length of the long-window figure's validate window (30 by default, as the runbook's longest). */
  windowMinutes: number;
}

function parseArgs(argv: string[]): Args {
  let quick = false;
  let out = 'BENCHMARKS.md';
  let only: Figure[] | undefined;
  let windowMinutes = 30;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--out') out = argv[++i] ?? out;
    else if (a === '--only') {
      only = (argv[++i] ?? '').split(',').map((s) => s.trim()) as Figure[];
      const unknown = only.filter((f) => !FIGURES.includes(f));
      if (unknown.length) throw new Error(`unknown figure(s) ${unknown.join(', ')}; known: ${FIGURES.join(', ')}`);
    } else if (a === '--window-minutes') {
      windowMinutes = Number(argv[++i]);
      // 100 passes are compared at each end: below 4 minutes at 1 s the two ends overlap
      if (!Number.isFinite(windowMinutes) || windowMinutes < 4)
        throw new Error(`--window-minutes must be a number of minutes ≥ 4, got ${argv[i]}`);
    } else
      throw new Error(
        `unknown argument ${a}; usage: bench/run.ts [--quick] [--out FILE] [--only a,b] [--window-minutes N]`,
      );
  }
  return { quick, out, only: only ?? (quick ? ['startup', 'api-economy'] : [...FIGURES]), windowMinutes };
}

/** The sandbox's pod start-up delay, the same for every figure that deploys. */
const POD_STARTUP_DELAY_MS = 500;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const bundles = await snapshotBundles();
  const git = (argv: string[]) => {
    try {
      return execFileSync('git', argv, { encoding: 'utf8' }).trim();
    } catch {
      return '';
    }
  };
  const head = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain', '--', 'dist']) !== '';
  const sections: Section[] = [];
  const failed: Figure[] = [];
  const run: Record<Figure, () => Promise<Section>> = {
    startup: () => startupFigure(args.quick ? { repeats: 1, rssRepeats: 1 } : { repeats: 15, rssRepeats: 3 }),
    completion: () => completionFigure({ repeats: 5, podStartupDelayMs: POD_STARTUP_DELAY_MS }),
    failure: () => failureFigure({ oursRepeats: 3, baselineRepeats: 1, deadlineSeconds: 60 }),
    restore: () =>
      restoreFigure({
        repeats: 3,
        podStartupDelayMs: POD_STARTUP_DELAY_MS,
        decisionRepeats: 3,
        decisionLateRepeats: 2,
      }),
    fanout: () => fanoutFigure({ repeats: 5 }),
    'api-economy': () =>
      apiEconomyFigure(
        args.quick
          ? { repeats: 1, tools: ['helm3'], podStartupDelayMs: POD_STARTUP_DELAY_MS }
          : { repeats: 3, tools: ['helm3', 'helm4'], podStartupDelayMs: POD_STARTUP_DELAY_MS },
      ),
    scale: () => scaleFigure({ replicas: [2, 20, 200], repeats: 2, podStartupDelayMs: POD_STARTUP_DELAY_MS }),
    decision: () => decisionFigure({ windows: 1000, rates: [2, 20, 400], intervalMs: 30_000, durationMs: 15 * 60_000 }),
    'long-window': () => longWindowFigure({ durationMs: args.windowMinutes * 60_000, intervalMs: 1000, edge: 100 }),
    'blue-green': () => blueGreenFigure({ repeats: 3, podStartupDelayMs: POD_STARTUP_DELAY_MS }),
    takeover: () => takeoverFigure({ repeats: 3, podStartupDelayMs: POD_STARTUP_DELAY_MS }),
    traffic: () =>
      trafficFigure({
        repeats: 2,
        podStartupDelayMs: POD_STARTUP_DELAY_MS,
        clients: 40,
        requestsPerSecond: 200,
        shareRequests: 2000,
      }),
  };
  // The long window (30 min, one pass a second) runs last: it measures requests, bytes and memory per
  // pass, not time, so whatever runs beside it then (a CI run) cannot skew the timed figures.
  const order = [...FIGURES.filter((f) => f !== 'long-window'), 'long-window' as const];
  for (const figure of order) {
    if (!args.only.includes(figure)) continue;
    progress(`figure ${figure}`);
    const started = performance.now();
    try {
      sections.push(await run[figure]());
    } catch (error) {
      // one broken figure must not cost the others: report it and go on
      const message = error instanceof Error ? error.message : String(error);
      progress(`figure ${figure} FAILED: ${message}`);
      failed.push(figure);
      sections.push({
        key: figure,
        title: `${FIGURES.indexOf(figure) + 1}. ${figure}`,
        goal: '',
        verdict: `Could not be measured in this run: ${message}`,
        tables: [],
        method: 'See bench/ for how this figure is measured.',
      });
    }
    progress(`figure ${figure} done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }

  const version = (bin: string, flag: string[]) => {
    try {
      return execFileSync(bin, flag, { encoding: 'utf8' }).trim().split('\n')[0] ?? '';
    } catch {
      return 'unknown';
    }
  };
  const nodes = [
    { label: 'Node running the bench', version: process.version },
    ...runtimes().map((r) => ({ label: `Node for the bundles: ${r.label}`, version: version(r.node, ['--version']) })),
  ];
  if (!runtimes().some((r) => r.node === NODE24)) nodes.push({ label: 'node24', version: 'missing' });
  const tools = [
    `kubectl: ${version(await toolPath('kubectl'), ['version', '--client'])}`,
    `helm 3: ${version(await toolPath('helm3'), ['version', '--short'])}`,
    `helm 4: ${version(await toolPath('helm4'), ['version', '--short'])}`,
  ];
  tools.push(
    `Bundles: a snapshot of dist/ taken at the start of the run${head ? ` (git ${head}${dirty ? ', dist/ with uncommitted changes' : ', dist/ as committed'})` : ''}`,
  );
  await bundles.remove();
  const text = renderReport({
    sections: [...sections].sort((a, b) => FIGURES.indexOf(a.key as Figure) - FIGURES.indexOf(b.key as Figure)),
    machine: machineFacts(nodes, tools),
    mode: args.quick ? '--quick' : args.only.length < FIGURES.length ? `--only ${args.only.join(',')}` : '',
    elapsedMs: performance.now() - t0,
    skipped: FIGURES.filter((f) => !args.only.includes(f)),
  });
  await writeFile(resolve(args.out), text);
  progress(`wrote ${args.out} in ${((performance.now() - t0) / 60_000).toFixed(1)} min`);
  if (failed.length) throw new Error(`figure(s) not measured: ${failed.join(', ')} (see ${args.out})`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    process.exit(1);
  },
);
