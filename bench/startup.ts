/**
 * Figure 1 — start-up: how long each bundle takes to reject a missing required input (exit 1, one
 * ::error::), as a ratio to `node -e 0` on the same Node, and its peak RSS.
 */
import { ACTION_NAMES, NODE24, parseWorkflowCommands, type ActionName } from '@veloz/harness';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { snapshotBundles, type Bundles } from './bundles';
import { buildProbe, mib, progress, ratio, spread, stats, timedRun, type Section, type Stats } from './lib';

/** A missing required input per action (the same cases as __tests__/e2e/bad-input.test.ts). */
// `kubeconfig: in-cluster` so the missing input is the only fault (an empty kubeconfig is one too).
export const MISSING_INPUT: Record<ActionName, { input: string; inputs: Record<string, string> }> = {
  preflight: { input: 'namespace', inputs: { kubeconfig: 'in-cluster', namespace: '' } },
  canary: {
    input: 'version',
    inputs: { kubeconfig: 'in-cluster', phase: 'canary', chart: './infra/helm/veloz', version: '' },
  },
  validate: { input: 'url', inputs: { kubeconfig: 'in-cluster', url: '' } },
  rollback: { input: 'reason', inputs: { kubeconfig: 'in-cluster', reason: '' } },
};

/**
 * Goals against the floor — a bundle of @actions/core alone, started the same way — which is what any
 * JavaScript action pays on this machine (`node -e 0` is below what a bundled action can reach).
 */
export const GOAL_RATIO = 1.25;
export const GOAL_RSS_RATIO = 1.1;

interface Runtime {
  label: string;
  node: string;
}

export interface StartupOptions {
  repeats: number;
  rssRepeats: number;
}

export function runtimes(): Runtime[] {
  const list: Runtime[] = [
    { label: `node24 (GitHub's runtime, ${NODE24.replace(process.cwd() + '/', '')})`, node: NODE24 },
  ];
  for (const p of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (existsSync(p)) {
      list.push({ label: `machine node (${p})`, node: p });
      break;
    }
  }
  return list;
}

async function rejectOnce(b: Bundles, action: ActionName, node: string): Promise<number> {
  const { input, inputs } = MISSING_INPUT[action];
  const r = await timedRun(node, [b.entry(action)], { env: await b.inputEnv(action, inputs), timeoutMs: 30_000 });
  const errors = parseWorkflowCommands(r.stdout).filter((c) => c.kind === 'error');
  if (r.code !== 1 || errors.length !== 1 || !errors[0]?.message.includes(`'${input}'`)) {
    throw new Error(
      `${action} did not reject a missing '${input}' as expected: exit ${r.code}, errors ${JSON.stringify(errors)}, stderr ${r.stderr.slice(-500)}`,
    );
  }
  return r.end - r.start;
}

async function bareOnce(node: string): Promise<number> {
  const r = await timedRun(node, ['-e', '0'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  if (r.code !== 0) throw new Error(`${node} -e 0 exited ${r.code}`);
  return r.end - r.start;
}

async function floorOnce(node: string, entry: string): Promise<number> {
  const r = await timedRun(node, [entry], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', INPUT_VERSION: '' } });
  if (r.code !== 1 || !r.stdout.startsWith('::error::')) throw new Error(`floor bundle: exit ${r.code} ${r.stdout}`);
  return r.end - r.start;
}

/**
 * Peak RSS in KiB of `node <script>` (or `node -e 0`): GNU time's %M when /usr/bin/time exists, else the
 * highest VmHWM read from /proc while it runs.
 */
async function peakRss(node: string, dir: string, script?: string, env?: Record<string, string>): Promise<number> {
  const args = script ? [script] : ['-e', '0'];
  const childEnv = env ?? { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  if (existsSync('/usr/bin/time')) {
    const out = join(dir, `rss-${Math.random().toString(36).slice(2)}`);
    await timedRun('/usr/bin/time', ['-f', '%M', '-o', out, node, ...args], { env: childEnv });
    return Number((await readFile(out, 'utf8')).trim().split('\n').pop());
  }
  const child = spawn(node, args, { stdio: 'ignore', env: childEnv });
  let hwm = 0;
  const poll = setInterval(() => {
    readFile(`/proc/${child.pid}/status`, 'utf8')
      .then((s) => {
        const m = /VmHWM:\s+(\d+) kB/.exec(s);
        if (m) hwm = Math.max(hwm, Number(m[1]));
      })
      .catch(() => undefined);
  }, 1);
  await new Promise((r) => child.on('close', r));
  clearInterval(poll);
  return hwm;
}

export async function startupFigure(o: StartupOptions): Promise<Section> {
  const dir = await mkdtemp(join(tmpdir(), 'veloz-bench-startup-'));
  const rows: string[][] = [];
  let worstRatio = 0;
  let worstRss = 0;
  let worstWhat = '';
  let worstRssWhat = '';
  const notes: string[] = [];
  let floorFacts: { ratio: number; rssKib: number } | undefined;
  const b = await snapshotBundles();
  const floor = await buildProbe('bench/floor-entry.ts', join(dir, 'floor'));
  if (floor.why) notes.push(`The @actions/core floor could not be measured: ${floor.why}.`);
  try {
    for (const rt of runtimes()) {
      progress(`start-up on ${rt.node}: warm-up`);
      await bareOnce(rt.node);
      if (floor.entry) await floorOnce(rt.node, floor.entry);
      for (const a of ACTION_NAMES) await rejectOnce(b, a, rt.node);
      // Interleaved rounds: every subject once per round, so drift on a shared machine hits all alike.
      const bare: number[] = [];
      const floorTimes: number[] = [];
      const times = Object.fromEntries(ACTION_NAMES.map((a) => [a, [] as number[]])) as Record<ActionName, number[]>;
      progress(`start-up on ${rt.node}: ${o.repeats} rounds`);
      for (let i = 0; i < o.repeats; i++) {
        bare.push(await bareOnce(rt.node));
        if (floor.entry) floorTimes.push(await floorOnce(rt.node, floor.entry));
        for (const a of ACTION_NAMES) times[a].push(await rejectOnce(b, a, rt.node));
      }
      progress(`start-up on ${rt.node}: peak RSS`);
      const bareRss: number[] = [];
      const floorRss: number[] = [];
      const rss = Object.fromEntries(ACTION_NAMES.map((a) => [a, [] as number[]])) as Record<ActionName, number[]>;
      for (let i = 0; i < o.rssRepeats; i++) {
        bareRss.push(await peakRss(rt.node, dir));
        if (floor.entry) floorRss.push(await peakRss(rt.node, dir, floor.entry, { INPUT_VERSION: '' }));
        for (const a of ACTION_NAMES) {
          rss[a].push(await peakRss(rt.node, dir, b.entry(a), await b.inputEnv(a, MISSING_INPUT[a].inputs)));
        }
      }
      const bareStats = stats(bare);
      const f = stats(floorTimes);
      const gh = rt.node === NODE24;
      rows.push([rt.label, '`node -e 0`', ...spread(bareStats), '1.00×', '', mib(stats(bareRss).median)]);
      if (floor.entry) {
        rows.push([
          '',
          'floor: @actions/core 3 alone (ncc bundle)',
          ...spread(f),
          ratio(f.median / bareStats.median),
          '1.00×',
          mib(stats(floorRss).median),
        ]);
        if (gh) floorFacts = { ratio: f.median / bareStats.median, rssKib: stats(floorRss).median };
      }
      for (const a of ACTION_NAMES) {
        const s: Stats = stats(times[a]);
        const r = s.median / bareStats.median;
        const m = stats(rss[a]).median;
        rows.push(['', `${a}`, ...spread(s), ratio(r), floor.entry ? ratio(s.median / f.median) : '', mib(m)]);
        const toFloor = floor.entry ? s.median / f.median : Number.POSITIVE_INFINITY;
        const rssToFloor = floor.entry ? m / stats(floorRss).median : Number.POSITIVE_INFINITY;
        if (gh && toFloor > worstRatio) {
          worstRatio = toFloor;
          worstWhat = a;
        }
        if (gh && rssToFloor > worstRss) {
          worstRss = rssToFloor;
          worstRssWhat = `${a} (${mib(m)})`;
        }
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const met = worstRatio <= GOAL_RATIO && worstRss <= GOAL_RSS_RATIO;
  return {
    key: 'startup',
    title: '1. Start-up: rejecting a missing required input',
    goal: `≤ ${GOAL_RATIO}× the floor (a bundle of @actions/core alone) in wall time and ≤ ${GOAL_RSS_RATIO}× its peak RSS, on node24`,
    met,
    verdict:
      `Slowest bundle on node24: ${worstWhat} at ${ratio(worstRatio)} the floor; largest peak RSS: ` +
      `${worstRssWhat} at ${ratio(worstRss)} the floor's. ${met ? 'Goal met.' : 'Goal not met.'}` +
      (floorFacts
        ? ` The floor itself — a bundle loading only @actions/core 3 — costs ${ratio(floorFacts.ratio)} \`node -e 0\` and ${mib(floorFacts.rssKib)}.`
        : ' The floor could not be built in this run.'),
    tables: [
      {
        caption: `Wall time from spawn to exit (median of ${o.repeats} runs after one warm-up run each; ratio = median / median of \`node -e 0\` on the same binary). Peak RSS: median of ${o.rssRepeats}.`,
        columns: ['runtime', 'subject', 'median', 'min', 'max', 'ratio to `node -e 0`', 'ratio to floor', 'peak RSS'],
        rows,
      },
    ],
    method:
      `Each bundle (the bench's snapshot of \`dist/<action>/index.js\`) is spawned the way the runner starts it — ` +
      `\`node <entry>\` with INPUT_* variables for every input of its action.yml (defaults applied) — with its required ` +
      `input empty; every run is checked to exit 1 with exactly one \`::error::\` naming the input. Time is spawn → exit ` +
      `of the child as seen by the parent (\`performance.now()\`), and \`node -e 0\` is spawned the same way. Subjects are ` +
      `interleaved round-robin so machine drift hits all alike. Peak RSS is GNU time's maximum resident set size ` +
      `(\`/usr/bin/time -f %M\`) in separate runs, so the timing runs carry no wrapper` +
      `${existsSync('/usr/bin/time') ? '' : ' (here: /usr/bin/time absent, so VmHWM polled from /proc every 1 ms)'}. ` +
      `The floor is \`bench/floor-entry.ts\` — \`@actions/core\` 3 and one \`setFailed\`, nothing else — bundled at run time ` +
      `with ncc \`--minify\` the way dist/ is, and run the same way as \`node -e 0\`.`,
    notes,
  };
}
