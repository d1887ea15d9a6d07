/**
 * Figure 8 — blast radius of the canary phase (issue 20): side-by-side (green beside the untouched
 * release) vs in-place (the runbook's literal `helm upgrade --set engine.replicaCount=1 --set
 * autoscaling.enabled=false`), both through our canary bundle (helm 3 driver), in the same run. Through
 * the canary phase: the fewest Ready pods behind the Service ÷ those before the deploy, and the share of
 * them on the new version; then the time for our rollback bundle to abort the canary (remove green vs
 * `helm rollback`) until no new-version pod serves.
 */
import { CHART, IMAGE, NAMESPACE, VALUES_PRODUCTION, startBenchCluster, type BenchCluster } from './cluster';
import { alternating, ms, spread, stats, type RepeatedRuns, type Section } from './lib';

const STRATEGIES = ['side-by-side', 'in-place'] as const;
type Strategy = (typeof STRATEGIES)[number];

export type BlueGreenOptions = RepeatedRuns;

interface Sample {
  minCapacity: number;
  share: number;
  abortMs: number;
  servedOldAt: number;
}

type Pod = {
  metadata: { name?: string; namespace?: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec?: { containers?: { image?: string }[] };
  status?: { conditions?: { type: string; status: string }[] };
};

const SERVICE_SELECTOR: Record<string, string> = {
  'app.kubernetes.io/name': 'veloz',
  'app.kubernetes.io/instance': 'veloz',
  'app.kubernetes.io/component': 'engine',
};
const serving = (p: Pod): boolean =>
  p.metadata.namespace === NAMESPACE &&
  !p.metadata.deletionTimestamp &&
  Object.entries(SERVICE_SELECTOR).every(([k, v]) => p.metadata.labels?.[k] === v) &&
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

/** Ready pods behind the Service, by image, sampled on every pod event of the store's watch stream. */
function servingWatch(c: BenchCluster) {
  const pods = new Map<string, Pod>();
  for (const p of c.sandbox.list('pods', NAMESPACE) as unknown as Pod[]) pods.set(p.metadata.name ?? '', p);
  const count = (image?: string) =>
    [...pods.values()].filter((p) => serving(p) && (!image || p.spec?.containers?.[0]?.image === image)).length;
  let min = count();
  const unsubscribe = c.sandbox.registry.store.subscribe((e) => {
    if (e.resource !== 'pods' && !e.resource.endsWith('/pods')) return;
    const pod = e.object as unknown as Pod;
    if (e.type === 'DELETED') pods.delete(pod.metadata.name ?? '');
    else pods.set(pod.metadata.name ?? '', pod);
    min = Math.min(min, count());
  });
  return { count, min: () => min, stop: () => void unsubscribe() };
}

async function once(strategy: Strategy, o: BlueGreenOptions): Promise<Sample> {
  const c = await startBenchCluster({ podStartupDelayMs: o.podStartupDelayMs });
  try {
    await c.install('1.0.0'); // values-production: autoscaler on, 2 replicas
    await c.sandbox.waitFor('deployments', NAMESPACE, 'veloz-engine', (d) => {
      const s = d?.status as { readyReplicas?: number } | undefined;
      return s?.readyReplicas === 2;
    });
    const watch = servingWatch(c);
    const before = watch.count();
    const canary = await c.action('canary', {
      chart: CHART,
      'values-files': VALUES_PRODUCTION,
      phase: 'canary',
      version: '1.1.0',
      strategy,
    });
    if (canary.exitCode !== 0) throw new Error(`${strategy} canary failed: ${canary.errors.join(' | ')}`);
    const minCapacity = watch.min() / before;
    const share = watch.count(`${IMAGE}:1.1.0`) / Math.max(1, watch.count());
    let servedOldAt = Number.NaN;
    const unsubscribe = c.sandbox.registry.store.subscribe(() => {
      if (Number.isNaN(servedOldAt) && watch.count(`${IMAGE}:1.1.0`) === 0) servedOldAt = performance.now();
    });
    const abort = await c.action('rollback', { reason: 'bench: abort the canary', timeout: '120s' });
    unsubscribe();
    watch.stop();
    if (abort.exitCode !== 0) throw new Error(`${strategy} abort failed: ${abort.errors.join(' | ')}`);
    // the action's own clock (outputs duration-seconds): the step's work, without node's start-up
    const abortMs = Number(abort.outputs['duration-seconds']) * 1000;
    return { minCapacity, share, abortMs, servedOldAt: servedOldAt - abort.start };
  } finally {
    await c.stop();
  }
}

export async function blueGreenFigure(o: BlueGreenOptions): Promise<Section> {
  const samples = await alternating('blue-green', STRATEGIES, o.repeats, (strategy) => once(strategy, o));
  const pct = (v: number) => `${Math.round(v * 100)}%`;
  const rows = STRATEGIES.map((strategy) => {
    const list = samples[strategy];
    const cap = stats(list.map((s) => s.minCapacity));
    const share = stats(list.map((s) => s.share));
    const abort = stats(list.map((s) => s.abortMs));
    const old = stats(list.map((s) => s.servedOldAt));
    const runs = list.map((s) => s.minCapacity.toFixed(2)).join(', ');
    return [strategy, `${cap.median.toFixed(2)} (runs: ${runs})`, pct(share.median), ...spread(abort), ms(old.median)];
  });
  const side = samples['side-by-side'];
  const inPlace = samples['in-place'];
  const met =
    stats(side.map((s) => s.minCapacity)).median >= 1 &&
    stats(side.map((s) => s.abortMs)).median < stats(inPlace.map((s) => s.abortMs)).median;
  return {
    key: 'blue-green',
    title: '10. Canary blast radius: side-by-side vs in-place',
    goal: 'side-by-side keeps ≥ 1.0 of the serving capacity through the canary (median run) and aborts faster than a helm rollback',
    met,
    verdict:
      `Side-by-side: fewest Ready pods behind the Service ${stats(side.map((s) => s.minCapacity)).median.toFixed(2)} of those before (median run), ` +
      `new version on ${pct(stats(side.map((s) => s.share)).median)} of them; in-place: ${stats(inPlace.map((s) => s.minCapacity)).median.toFixed(2)} and ` +
      `${pct(stats(inPlace.map((s) => s.share)).median)}. Abort (our rollback bundle): ${ms(stats(side.map((s) => s.abortMs)).median)} removing green vs ` +
      `${ms(stats(inPlace.map((s) => s.abortMs)).median)} for \`helm rollback\`.`,
    tables: [
      {
        columns: [
          'strategy',
          'min Ready serving ÷ before (median; each run)',
          'share of serving pods on 1.1.0 after the canary (median)',
          'abort: rollback action, own time (median)',
          'min',
          'max',
          'abort: until no 1.1.0 pod serves (median)',
        ],
        rows,
      },
    ],
    method:
      `${o.repeats} run(s) per strategy, alternating, each on a fresh sandbox (pod start-up ${o.podStartupDelayMs} ms) with ` +
      '1.0.0 installed from the fixture chart with values-production (2 replicas, autoscaler on). The canary bundle (node24, ' +
      'helm 3 driver) deploys 1.1.0 with `canary-replicas: 1`; Ready pods matching the Service selector are sampled on every ' +
      'pod event of the sandbox store (what watches are served from). The share is by pods, which is what the Service splits ' +
      'requests by. Then the rollback bundle runs with default inputs: side-by-side it removes green (no Helm revision), in-place ' +
      'it runs `helm rollback --wait`. Its own time is its `duration-seconds` output (lock to report, without node start-up); ' +
      '"until no 1.1.0 pod serves" is measured from spawning the rollback bundle to the first store ' +
      'event after which no Ready 1.1.0 pod is behind the Service. The side-by-side canary writes nothing to blue (the e2e ' +
      'tests assert its pods and ReplicaSets unchanged): a side-by-side run below 1.0 is a blue pod the sandbox reported not ' +
      'Ready during that run, shown as measured.',
  };
}
