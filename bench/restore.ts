/**
 * Figure 4 — time to restore: from a `rollback` verdict to the previous version healthy, for our rollback
 * step (helm 3, helm 4 and kubectl drivers) vs `helm rollback --wait` and `kubectl rollout undo` +
 * `kubectl rollout status`, net of the sandbox's own rollout time. And decision latency: from the moment
 * a rollback criterion is met in the engine double to the validate verdict.
 */
import {
  DEPLOYMENT,
  IMAGE,
  NAMESPACE,
  clientOf,
  epochOf,
  imageOf,
  rolloutComplete,
  startBenchCluster,
  warmThenMeasure,
  withBenchCluster,
  type BenchCluster,
  type DeploymentLike,
  type HelmTool,
} from './cluster';
import type { JournalEntry } from '@veloz/sandbox';
import { buildProbe, ms, progress, ratio, sleep, spread, stats, timedRun, type Section } from './lib';
import { NODE24 } from '@veloz/harness';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RestoreOptions {
  repeats: number;
  podStartupDelayMs: number;
  decisionRepeats: number;
  decisionLateRepeats: number;
}

const GOOD = '1.0.0';
const BAD = '1.1.0';

interface Subject {
  label: string;
  driver: 'helm' | 'kubectl';
  helm: HelmTool;
  ours: boolean;
  /** Rolls back from BAD to GOOD; returns performance.now() at the start (the verdict) and at the return. */
  rollback(c: BenchCluster): Promise<{ start: number; end: number }>;
}

function ours(driver: 'helm' | 'kubectl', helm: HelmTool): Subject {
  return {
    label: `ours: rollback step, ${driver === 'kubectl' ? 'kubectl driver' : `helm driver (${helm === 'helm3' ? 'helm 3' : 'helm 4'})`}`,
    driver,
    helm,
    ours: true,
    async rollback(c) {
      const r = await c.action('rollback', { reason: 'bench: time to restore', driver }, { helm });
      if (r.exitCode !== 0) throw new Error(`rollback (${driver}, ${helm}) failed: ${r.errors.join(' | ')}`);
      return { start: r.start, end: r.end };
    },
  };
}

function helmRollback(helm: HelmTool): Subject {
  return {
    label: `\`helm rollback --wait\` (${helm === 'helm3' ? 'helm 3' : 'helm 4'})`,
    driver: 'helm',
    helm,
    ours: false,
    async rollback(c) {
      // no revision: helm's "previous release", which here is the good one
      const r = await c.helm(helm, ['rollback', 'veloz', '-n', NAMESPACE, '--wait', '--timeout', '5m']);
      if (r.code !== 0) throw new Error(`helm rollback failed: ${r.stderr}`);
      return { start: r.start, end: r.end };
    },
  };
}

const kubectlUndo: Subject = {
  label: '`kubectl rollout undo` + `kubectl rollout status`',
  driver: 'kubectl',
  helm: 'helm3',
  ours: false,
  async rollback(c) {
    const undo = await c.kubectl(['rollout', 'undo', `deployment/${DEPLOYMENT}`, '-n', NAMESPACE]);
    if (undo.code !== 0) throw new Error(`kubectl rollout undo failed: ${undo.stderr}`);
    const st = await c.rolloutStatus('5m');
    if (st.code !== 0) throw new Error(`kubectl rollout status failed: ${st.stderr}`);
    return { start: undo.start, end: st.end };
  },
};

/** Puts the bad version in place the way the subject's driver would have deployed it. */
async function deployBad(c: BenchCluster, s: Subject): Promise<void> {
  if (s.driver === 'helm') return c.install(BAD, [], s.helm);
  await c.setImage(BAD);
  const st = await c.rolloutStatus('5m');
  if (st.code !== 0) throw new Error(`kubectl rollout status failed: ${st.stderr}`);
}

/**
 * The sandbox's own rollout time: the same image change written straight into the store (no client at
 * all), until the Deployment is complete. It holds the pod start-ups and readiness probes of every wave.
 */
async function floorOnce(c: BenchCluster, image: string): Promise<number> {
  const d = c.deployment() as (DeploymentLike & { apiVersion: string; kind: string; metadata: object }) | undefined;
  if (!d) throw new Error('no deployment');
  const container = d.spec?.template?.spec?.containers?.[0];
  if (!container) throw new Error('no container');
  container.image = image;
  const probe = c.completion(image);
  const start = performance.now();
  c.sandbox.apply(d as never);
  const deadline = start + 60_000;
  while (probe.at === undefined && performance.now() < deadline) await sleep(5);
  probe.stop();
  if (probe.at === undefined) throw new Error('sandbox floor: the rollout did not complete');
  return probe.at - start;
}

/** The floor on its own sandbox (helm 4 would meet the store writes' field manager as a conflict). */
async function sandboxFloor(o: RestoreOptions): Promise<number[]> {
  return withBenchCluster({ podStartupDelayMs: o.podStartupDelayMs }, async (c) => {
    await c.install(GOOD);
    return warmThenMeasure(o.repeats, async () => {
      await floorOnce(c, `${IMAGE}:${BAD}`);
      return floorOnce(c, `${IMAGE}:${GOOD}`);
    });
  });
}

/**
 * The client floor: a bundle of @actions/core and @kubernetes/client-node alone reading the Deployment
 * once, run the way the runner runs ours. Its first request bounds how soon any step using them can write.
 */
async function clientFloor(
  o: RestoreOptions,
): Promise<{ firstRequest: number[]; exit: number[]; bundleBytes: number } | { why: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'veloz-bench-client-floor-'));
  try {
    const probe = await buildProbe('bench/client-floor-entry.ts', join(dir, 'probe'));
    if (!probe.entry) return { why: probe.why ?? 'the probe did not build' };
    const entry = probe.entry;
    const bundleBytes = await jsBytes(join(dir, 'probe'));
    return await withBenchCluster({ podStartupDelayMs: o.podStartupDelayMs }, async (c) => {
      await c.install(GOOD);
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', KUBECONFIG: c.kubeconfigPath };
      const rounds = await warmThenMeasure(o.repeats, async () => {
        const r = await timedRun(NODE24, [entry], {
          env: { ...env, INPUT_DEPLOYMENT: DEPLOYMENT, INPUT_NAMESPACE: NAMESPACE },
          timeoutMs: 30_000,
        });
        if (r.code !== 0) throw new Error(`client floor: exit ${r.code} ${r.stderr.slice(-300)}`);
        const first = (await c.requests(r.start, r.end)).map((e) => Date.parse(e.time)).sort((a, b) => a - b)[0];
        if (first === undefined) throw new Error('client floor: no request in the journal');
        return { firstRequest: first - epochOf(r.start), exit: r.end - r.start };
      });
      return { firstRequest: rounds.map((x) => x.firstRequest), exit: rounds.map((x) => x.exit), bundleBytes };
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The size of a built bundle's JavaScript (entry and chunks), which Node reads and compiles at start. */
async function jsBytes(dir: string): Promise<number> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.js'));
  const sizes = await Promise.all(files.map(async (f) => (await stat(join(dir, f))).size));
  return sizes.reduce((a, b) => a + b, 0);
}

interface Measured {
  healthy: number[];
  returned: number[];
  /** The subject's first API request, and its first write to the Deployment (the rollout's start), from the journal. */
  firstRequest: number[];
  deploymentWritten: number[];
}

/** The restore goal (issue 30): our net time to healthy at most the bare tool's plus this. */
const RESTORE_MARGIN_MS = 150;

async function measure(s: Subject, o: RestoreOptions): Promise<Measured> {
  return withBenchCluster({ podStartupDelayMs: o.podStartupDelayMs }, async (c) => {
    await c.install(GOOD, [], s.helm);
    const rounds = await warmThenMeasure(o.repeats, () => restoreOnce(c, s));
    return {
      healthy: rounds.map((r) => r.healthy),
      returned: rounds.map((r) => r.returned),
      firstRequest: rounds.map((r) => r.firstRequest),
      deploymentWritten: rounds.map((r) => r.deploymentWritten),
    };
  });
}

/**
 * Deploys the bad version, then times the subject's rollback to GOOD: healthy again, the command's
 * return, and from the journal its first API request and its first write to the Deployment.
 */
async function restoreOnce(c: BenchCluster, s: Subject): Promise<Round> {
  await deployBad(c, s);
  const probe = c.completion(`${IMAGE}:${GOOD}`);
  const { start, end } = await s.rollback(c);
  probe.stop();
  const d = c.deployment();
  if (probe.at === undefined || imageOf(d) !== `${IMAGE}:${GOOD}` || !d || !rolloutComplete(d)) {
    throw new Error(`${s.label}: ${GOOD} was not restored`);
  }
  // Ours starts with the action's own requests; with the helm driver, helm (its child) writes the Deployment.
  const first = s.ours ? 'action' : s.driver;
  const writers = s.ours ? ['action', 'helm'] : [s.driver];
  const journal = (await c.requests(start, end)).sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  const at = (e: JournalEntry | undefined) => (e ? Date.parse(e.time) - epochOf(start) : Number.NaN);
  return {
    healthy: probe.at - start,
    returned: end - start,
    firstRequest: at(journal.find((e) => clientOf(e) === first)),
    deploymentWritten: at(
      journal.find((e) => writers.includes(clientOf(e)) && e.resource === 'deployments' && !READS.has(e.verb)),
    ),
  };
}

interface Round {
  healthy: number;
  returned: number;
  firstRequest: number;
  deploymentWritten: number;
}

const READS = new Set(['get', 'list', 'watch']);

interface Decision {
  latency: number[];
  exitLatency: number[];
  reasons: string[];
}

/**
 * Validate watching one pod every `interval`; right after pass `atPass` the engine double is told to
 * degrade `after` 2 s; the criterion is "error rate above 5% for 3 s".
 */
async function decisionLatency(repeats: number, atPass: number, o: RestoreOptions): Promise<Decision> {
  const intervalMs = 1000;
  const afterMs = 2000;
  const forMs = 3000;
  const c = await startBenchCluster({ podStartupDelayMs: o.podStartupDelayMs, engineSyntheticRps: 400 });
  const out: Decision = { latency: [], exitLatency: [], reasons: [] };
  try {
    await c.install(BAD, ['--set', 'autoscaling.enabled=false']);
    const pod = String(
      c.sandbox.list('pods', NAMESPACE, 'app.kubernetes.io/name=veloz').map((p) => p.metadata.name)[0] ?? '',
    );
    for (let i = 0; i < repeats; i++) {
      c.sandbox.setProfile(`${IMAGE}:${BAD}`, undefined);
      await sleep(1500); // healthy counters again before the window opens
      let degradedAt = 0;
      let verdictAt: number | undefined;
      const run = c.action(
        'validate',
        {
          pod,
          checks: 'health, metrics',
          duration: '180s',
          interval: `${intervalMs / 1000}s`,
          'rollback-error-rate-for': `${forMs / 1000}s`,
        },
        {
          onLine: (line) => {
            if (line.startsWith(`pass ${atPass} at`) && !degradedAt) {
              // the window is open: degrade now, taking effect `after` from this moment
              degradedAt = performance.now();
              c.sandbox.setProfile(`${IMAGE}:${BAD}`, `degrade:after=${afterMs}ms,error-rate=10%`);
            }
            if (verdictAt === undefined && line.includes('→ ROLLBACK')) verdictAt = performance.now();
          },
        },
      );
      const r = await run;
      if (r.outputs.verdict !== 'rollback' || verdictAt === undefined || !degradedAt) {
        throw new Error(`validate did not decide rollback: ${r.outputs.verdict} ${r.errors.join(' | ')}`);
      }
      const metAt = degradedAt + afterMs + forMs;
      out.latency.push(verdictAt - metAt);
      out.exitLatency.push(r.end - metAt);
      out.reasons.push(r.outputs.reasons ?? '');
    }
    c.sandbox.setProfile(`${IMAGE}:${BAD}`, undefined);
  } finally {
    await c.stop();
  }
  return out;
}

/** Ours over the tool per driver, against the goal, and what the margin is made of. */
type ClientFloor = Awaited<ReturnType<typeof clientFloor>>;

function restoreVerdict(
  margins: { label: string; over: number; ours: Measured; tool: Measured }[],
  client: ClientFloor,
): string {
  const median = (values: number[]) => stats(values).median;
  const each = margins.map((m) => `${m.label} ${m.over >= 0 ? '+' : ''}${ms(m.over)}`).join(', ');
  const met = margins.every((m) => m.over <= RESTORE_MARGIN_MS);
  const parts = margins.map(
    (m) =>
      `${m.label}: first request at ${ms(median(m.ours.firstRequest))} (the tool's ${ms(median(m.tool.firstRequest))}), ` +
      `Deployment written at ${ms(median(m.ours.deploymentWritten))} (the tool's ${ms(median(m.tool.deploymentWritten))})`,
  );
  return (
    `Time to restore, net of the rollout, ours over the bare tool: ${each} (goal ≤ +${RESTORE_MARGIN_MS} ms: ` +
    `${met ? 'met' : 'not met'}). Before its first write the rollback claims the release lock, reads the Deployment, green ` +
    `and the release history (all at once, beside the claim) and has \`helm version\` from its start; what is left is ` +
    `mostly the step's start-up (Node, the bundle, the Kubernetes client) before its first API request — ${parts.join('; ')}. ` +
    ('why' in client ? `The client floor was not measured: ${client.why}.` : clientFloorSentence(margins, client))
  );
}

/** How much of the margin the Kubernetes client alone accounts for, and how much is our own start-up. */
function clientFloorSentence(
  margins: { label: string; ours: Measured; tool: Measured }[],
  client: Exclude<ClientFloor, { why: string }>,
): string {
  const median = (values: number[]) => stats(values).median;
  const floor = median(client.firstRequest);
  const overTools = margins.map((m) => floor - median(m.tool.firstRequest));
  const oursOver = margins.map((m) => median(m.ours.firstRequest) - floor);
  const range = (xs: number[]) => `${ms(Math.min(...xs))}–${ms(Math.max(...xs))}`;
  return (
    `What bounds it: a bundle of @actions/core and @kubernetes/client-node alone (${(client.bundleBytes / 2 ** 20).toFixed(1)} MiB ` +
    `of JavaScript, most of it the client's generated API models), reading the Deployment once, sends its first request ` +
    `at ${ms(floor)} and exits at ${ms(median(client.exit))}: ${range(overTools)} after the Go tools' first request, ` +
    `${Math.min(...overTools) > RESTORE_MARGIN_MS ? 'more than the whole +' + RESTORE_MARGIN_MS + ' ms budget before any of our code runs' : 'inside the budget'}. ` +
    `Our step's own start-up (its bundle, reading inputs) adds ${range(oursOver)} above that floor.`
  );
}

export async function restoreFigure(o: RestoreOptions): Promise<Section> {
  const subjects = [
    ours('helm', 'helm3'),
    helmRollback('helm3'),
    ours('helm', 'helm4'),
    helmRollback('helm4'),
    ours('kubectl', 'helm3'),
    kubectlUndo,
  ];
  const results = new Map<Subject, Measured>();
  for (const s of subjects) {
    progress(`time to restore: ${s.label}`);
    results.set(s, await measure(s, o));
  }
  progress('time to restore: the sandbox floor');
  const floor = stats(await sandboxFloor(o));
  progress('time to restore: the client floor (@actions/core and @kubernetes/client-node alone)');
  const client = await clientFloor(o);
  const rows: string[][] = [];
  const net = (m: Measured, key: 'healthy' | 'returned') => stats(m[key].map((v) => v - floor.median));
  /** Per driver: our net time to healthy over the tool's, and when each wrote the Deployment. */
  const margins: { label: string; over: number; ours: Measured; tool: Measured }[] = [];
  // A tool whose net time is inside the floor's own spread has no measurable net time to divide by.
  const versusTool = (ours: number, tool: number, spread: number): string =>
    tool > spread ? ratio(ours / tool) : `— (tool within the floor's ${ms(spread)} spread)`;
  for (let i = 0; i < subjects.length; i += 2) {
    const mine = results.get(subjects[i]!)!;
    const theirs = results.get(subjects[i + 1]!)!;
    for (const [s, m] of [
      [subjects[i]!, mine],
      [subjects[i + 1]!, theirs],
    ] as const) {
      const h = stats(m.healthy);
      const nh = net(m, 'healthy');
      const nr = net(m, 'returned');
      rows.push([
        s.label,
        ...spread(h),
        ms(floor.median),
        ...spread(nh),
        ms(nr.median),
        ms(stats(m.firstRequest).median),
        ms(stats(m.deploymentWritten).median),
        s.ours ? '' : versusTool(net(mine, 'healthy').median, nh.median, floor.max - floor.min),
      ]);
    }
    const over = net(mine, 'healthy').median - net(theirs, 'healthy').median;
    margins.push({ label: subjects[i]!.label.replace(/^ours: rollback step, /, ''), over, ours: mine, tool: theirs });
  }
  const restoreMet = margins.every((m) => m.over <= RESTORE_MARGIN_MS);
  progress('decision latency: degrading right after the first pass');
  const early = await decisionLatency(o.decisionRepeats, 1, o);
  progress('decision latency: degrading after 32 passes (the 30 s rate window full of healthy samples)');
  const late = await decisionLatency(o.decisionLateRepeats, 32, o);
  const d = stats(early.latency);
  const dx = stats(early.exitLatency);
  const l = stats(late.latency);
  const lx = stats(late.exitLatency);
  // Figures are medians (min/max shown): the goal is judged on the medians.
  const decisionMet = d.median <= 1000 && l.median <= 1000;
  return {
    key: 'restore',
    title: '4. Time to restore, and decision latency',
    goal: `time to restore net of the rollout ≤ the bare tool's + ${RESTORE_MARGIN_MS} ms (helm 3, helm 4, kubectl); decision latency ≤ one interval (1 s)`,
    met: decisionMet && restoreMet,
    verdict:
      `Decision latency with a 1 s interval: ${ms(d.median)} (median; max ${ms(d.max)}) when the engine degrades early in ` +
      `the window, ${ms(l.median)} (max ${ms(l.max)}) when it degrades after 32 s of healthy samples — ` +
      `${decisionMet ? 'within one interval (goal met)' : 'over one interval (goal not met)'}. Validate judges every pass; its error ` +
      `rate comes from its own scrapes over the newest span holding 200 requests (its p99 over 1000), so a breach is seen ` +
      `at the first pass after it shows in the counters: one interval at most, plus the pass itself. ${restoreVerdict(margins, client)}`,
    tables: [
      {
        caption:
          `From the verdict (the rollback step starting) to ${GOOD} healthy again: the store event completing the rollback rollout. ` +
          `${o.repeats} measured rollbacks per subject after one warm-up; 2 replicas; pod start-up delay ${o.podStartupDelayMs} ms. ` +
          `"Sandbox floor" (median of ${o.repeats}) is the same rollout written straight into the store with no client; "net" = raw − floor median. ` +
          `"First API request" and "Deployment written" (medians, from the sandbox's request journal): the subject's first request, and its first write to the Deployment (the rollout's start), after the step started. ` +
          `Last column: our net time to healthy ÷ the tool's (same driver); above 1× means ours is slower.`,
        columns: [
          'subject',
          'to healthy: median',
          'min',
          'max',
          'sandbox floor',
          'net: median',
          'min',
          'max',
          'net to step return',
          'first API request',
          'Deployment written',
          'ours ÷ tool',
        ],
        rows,
      },
      {
        caption: `Decision latency: validate of one pod, checks health + metrics, interval 1 s, \`rollback-error-rate-for: 3s\`; the engine double answers 10% errors from 2 s after the moment it is told to (told right after pass 1, or after pass 32).`,
        columns: ['measure', 'runs', 'median', 'min', 'max'],
        rows: [
          ['degrade early: criterion met → ROLLBACK log line', String(d.n), ...spread(d)],
          ['degrade early: criterion met → step exit', String(dx.n), ...spread(dx)],
          ['degrade after 32 s: criterion met → ROLLBACK log line', String(l.n), ...spread(l)],
          ['degrade after 32 s: criterion met → step exit', String(lx.n), ...spread(lx)],
        ],
      },
    ],
    method:
      `Time to restore: each subject gets a fresh sandbox with ${GOOD} installed (2 replicas, autoscaling on), then per round ` +
      `deploys ${BAD} the way its driver would (helm driver: \`helm upgrade --wait\`; kubectl driver: \`kubectl set image\` + ` +
      `\`rollout status\`) and rolls back. The verdict moment is the start of the rollback step (bundle spawn, or the first ` +
      `command); "healthy" is the store event completing the Deployment rollout back to ${GOOD} (kubectl's definition of complete). ` +
      `Our rollback step then also checks /health, /health/ready and /health/startup of every pod through pods/proxy and records ` +
      `the rollback before returning ("net to step return"). The sandbox floor is measured on a sandbox of its own with the ` +
      `same settings: ${BAD} then ${GOOD} written directly into the Deployment in the store, timed to complete — it holds the two ` +
      `serial pod start-ups (maxSurge 1, maxUnavailable 0 at 2 replicas) and readiness probes, which no client can shorten. ` +
      `Decision latency: criterion-met moment = (the moment the engine double is told to degrade) + its \`after\` (2 s) + the ` +
      `criterion's duration (3 s); verdict moment = when the bench reads validate's \`→ ROLLBACK\` pass line. The onset ` +
      `falls on a pass here (told right after a pass line, 2 s = two intervals ahead), and the degrade starts from the ` +
      `bench's reading of that line, a few ms after the pass: so a verdict can land a few ms before the computed moment. ` +
      `From an onset between passes it can come up to half an interval earlier or later: a 1 s sample of 10% errors ` +
      `reads over 5% once more than half of it is degraded.`,
    notes: [
      `Validate's reason (degrade early): “${early.reasons[0] ?? ''}”`,
      `Validate's reason (degrade after 32 s): “${late.reasons[0] ?? ''}”`,
    ],
  };
}
