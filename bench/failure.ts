/**
 * Figure 3 — failure detection: a crash-looping and a missing-image release; time to a failed step for
 * our canary vs `kubectl rollout status` (progress deadline) and `helm upgrade --wait` (timeout), with
 * the deadline and the timeout set equal.
 */
import { CHART, IMAGE, VALUES_PRODUCTION, startBenchCluster, upgradeArgv, type HelmTool } from './cluster';
import { ms, progress, ratio, spread, stats, type Section } from './lib';

export const GOAL_MS = 5000;
export const GOAL_FACTOR = 20;

const PROFILES = ['crashloop', 'missing'] as const;
type Profile = (typeof PROFILES)[number];

export interface FailureOptions {
  oursRepeats: number;
  baselineRepeats: number;
  deadlineSeconds: number;
  podStartupDelayMs?: number;
}

type Baseline = 'kubectl' | HelmTool;
const BASELINES: Baseline[] = ['kubectl', 'helm3', 'helm4'];
const BASELINE_LABEL: Record<Baseline, string> = {
  kubectl: '`kubectl set image` + `kubectl rollout status` (progress deadline)',
  helm3: '`helm upgrade --wait` (helm 3, timeout)',
  helm4: '`helm upgrade --wait` (helm 4, timeout)',
};

function canaryShape(deadline: number): string[] {
  return [
    '--set',
    'engine.replicaCount=1',
    '--set',
    'autoscaling.enabled=false',
    '--set',
    `engine.progressDeadlineSeconds=${deadline}`,
  ];
}

/** Our canary step (helm 3 driver) on a bad image, repeated on one sandbox, reset to 1.0.0 in between. */
async function ours(profile: Profile, o: FailureOptions): Promise<{ times: number[]; message: string }> {
  const c = await startBenchCluster({ podStartupDelayMs: o.podStartupDelayMs ?? 500 });
  const times: number[] = [];
  let message = '';
  try {
    const deadline = `engine.progressDeadlineSeconds=${o.deadlineSeconds}`;
    await c.install('1.0.0', ['--set', deadline]);
    for (let i = 0; i < o.oursRepeats; i++) {
      const version = `2.0.${i}-${profile}`;
      c.sandbox.setProfile(`${IMAGE}:${version}`, profile);
      const r = await c.action('canary', {
        chart: CHART,
        'values-files': VALUES_PRODUCTION,
        phase: 'canary',
        strategy: 'in-place',
        version,
        set: deadline,
        timeout: `${o.deadlineSeconds}s`,
      });
      if (r.exitCode !== 1) throw new Error(`our canary of a ${profile} image did not fail (exit ${r.exitCode})`);
      times.push(r.durationMs);
      message = r.errors[0] ?? '';
      await c.install('1.0.0', ['--set', deadline]);
    }
  } finally {
    await c.stop();
  }
  return { times, message };
}

/** One baseline run on its own sandbox: from the start of the change to the failing exit. */
async function baseline(tool: Baseline, profile: Profile, o: FailureOptions): Promise<number> {
  const c = await startBenchCluster({ podStartupDelayMs: o.podStartupDelayMs ?? 500 });
  try {
    await c.install('1.0.0', canaryShape(o.deadlineSeconds));
    const version = `2.0.0-${profile}`;
    c.sandbox.setProfile(`${IMAGE}:${version}`, profile);
    if (tool === 'kubectl') {
      const set = await c.setImage(version);
      const st = await c.rolloutStatus('10m');
      if (st.code === 0) throw new Error(`kubectl rollout status succeeded on a ${profile} image`);
      return st.end - set.start;
    }
    const r = await c.helm(tool, upgradeArgv(version, canaryShape(o.deadlineSeconds), `${o.deadlineSeconds}s`));
    if (r.code === 0) throw new Error(`helm upgrade --wait (${tool}) succeeded on a ${profile} image`);
    return r.end - r.start;
  } finally {
    await c.stop();
  }
}

export async function failureFigure(o: FailureOptions): Promise<Section> {
  // Ours first, alone on the machine: short runs, sensitive to load.
  const oursResults = new Map<Profile, { times: number[]; message: string }>();
  for (const profile of PROFILES) {
    progress(`failure detection: ours, ${profile} ×${o.oursRepeats}`);
    oursResults.set(profile, await ours(profile, o));
  }
  // Baselines: long and mostly idle (waiting for a deadline), so all run at once on separate sandboxes.
  progress(
    `failure detection: ${BASELINES.length * PROFILES.length * o.baselineRepeats} baseline runs concurrently (~${o.deadlineSeconds} s each)`,
  );
  const base = new Map<string, number[]>();
  const jobs: Promise<void>[] = [];
  for (const profile of PROFILES) {
    for (const tool of BASELINES) {
      for (let i = 0; i < o.baselineRepeats; i++) {
        jobs.push(
          baseline(tool, profile, o).then((t) => {
            const key = `${tool}/${profile}`;
            base.set(key, [...(base.get(key) ?? []), t]);
          }),
        );
      }
    }
  }
  await Promise.all(jobs);

  const rows: string[][] = [];
  let worstOurs = 0;
  let worstFactor = Infinity;
  for (const profile of PROFILES) {
    const mine = stats(oursResults.get(profile)?.times ?? []);
    const kubectl = stats(base.get(`kubectl/${profile}`) ?? []);
    worstOurs = Math.max(worstOurs, mine.median);
    worstFactor = Math.min(worstFactor, kubectl.median / mine.median);
    rows.push([profile, `ours: canary step (helm 3 driver), n=${mine.n}`, ...spread(mine), '1.00×']);
    for (const tool of BASELINES) {
      const s = stats(base.get(`${tool}/${profile}`) ?? []);
      rows.push([
        profile,
        `${BASELINE_LABEL[tool]}, n=${s.n}`,
        ...spread(s),
        `${ratio(s.median / mine.median)} slower`,
      ]);
    }
  }
  const met = worstOurs <= GOAL_MS && worstFactor >= GOAL_FACTOR;
  return {
    key: 'failure',
    title: '3. Failure detection: crash-looping and missing-image releases',
    goal: `≤ ${GOAL_MS / 1000} s to a failed step and ≥ ${GOAL_FACTOR}× faster than \`kubectl rollout status\``,
    met,
    verdict:
      `Ours fails in ${ms(worstOurs)} at worst (median), ${ratio(worstFactor)} faster than kubectl at the least, ` +
      `with the progress deadline and helm timeout both ${o.deadlineSeconds} s. ${met ? 'Goal met.' : 'Goal not met.'}`,
    tables: [
      {
        caption: `Time from the start of the change to the failing exit. Deadline = timeout = ${o.deadlineSeconds} s.`,
        columns: ['image', 'subject', 'median', 'min', 'max', 'vs ours'],
        rows,
      },
    ],
    method:
      `Sandbox image profiles \`crashloop\` (the container exits 1 and goes into CrashLoopBackOff with a doubling 1 s back-off) ` +
      `and \`missing\` (ErrImagePull, then ImagePullBackOff), pod start-up delay ${o.podStartupDelayMs ?? 500} ms. ` +
      `Ours: the canary bundle (helm driver, helm 3) with \`timeout: ${o.deadlineSeconds}s\` and ` +
      `\`set: engine.progressDeadlineSeconds=${o.deadlineSeconds}\`, ${o.oursRepeats} runs per image on one sandbox, ` +
      `reset to a healthy 1.0.0 between runs; time is the bundle's spawn → exit (it includes start-up, the release lock, ` +
      `helm upgrade, detection, interrupting helm and writing the report). Baselines: ${o.baselineRepeats} run(s) each, ` +
      `every one on its own fresh sandbox with the same chart values; \`kubectl rollout status\` is timed from the start of ` +
      `\`kubectl set image\` and fails when the sandbox's deployment controller marks the rollout ProgressDeadlineExceeded; ` +
      `helm is timed from its start to its exit at \`--timeout ${o.deadlineSeconds}s\`. Our runs go first, alone; the ` +
      `${BASELINES.length * PROFILES.length * o.baselineRepeats} baseline runs then run concurrently (they mostly wait).`,
    notes: PROFILES.map((p) => `Our error for \`${p}\`: “${oursResults.get(p)?.message ?? ''}”`),
  };
}
