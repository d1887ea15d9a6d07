/**
 * Figure 7 — scale: the canary phase (helm driver) and the rollout tracker alone (kubectl driver) with
 * 2, 20 and 200 replicas, pod start-up delay constant: wall time and API requests, beside
 * `helm upgrade --wait` + `kubectl rollout status` and `kubectl set image` + `kubectl rollout status`.
 */
import { countRequests } from './api-economy';
import { CHART, IMAGE, VALUES_PRODUCTION, startBenchCluster, type BenchCluster, upgradeArgv } from './cluster';
import { ms, progress, ratio, stats, type Section } from './lib';

export interface ScaleOptions {
  replicas: number[];
  repeats: number;
  podStartupDelayMs: number;
}

interface Subject {
  label: string;
  /** Subject this one is compared with (ratio), by label. */
  versus?: string;
  run(c: BenchCluster, version: string, n: number): Promise<{ start: number; end: number }>;
}

const OURS_HELM = 'ours: canary step, helm 3 driver';
const OURS_TRACKER = 'ours: canary step, kubectl driver (tracker)';
const HELM_KUBECTL = '`helm upgrade --wait` + `kubectl rollout status`';
const KUBECTL = '`kubectl set image` + `kubectl rollout status`';

const SUBJECTS: Subject[] = [
  {
    label: OURS_HELM,
    versus: HELM_KUBECTL,
    async run(c, version, n) {
      const r = await c.action('canary', {
        chart: CHART,
        'values-files': VALUES_PRODUCTION,
        phase: 'canary',
        // the release itself at N replicas: what this figure scales (side by side would start green instead)
        strategy: 'in-place',
        version,
        'canary-replicas': String(n),
        replicas: String(n),
        timeout: '10m',
      });
      if (r.exitCode !== 0) throw new Error(`canary at ${n} replicas failed: ${r.errors.join(' | ')}`);
      return r;
    },
  },
  {
    label: HELM_KUBECTL,
    async run(c, version, n) {
      const up = await c.helm(
        'helm3',
        upgradeArgv(version, ['--set', `engine.replicaCount=${n}`, '--set', 'autoscaling.enabled=false'], '10m'),
      );
      if (up.code !== 0) throw new Error(`helm upgrade failed: ${up.stderr}`);
      const st = await c.rolloutStatus('10m');
      if (st.code !== 0) throw new Error(`kubectl rollout status failed: ${st.stderr}`);
      return { start: up.start, end: st.end };
    },
  },
  {
    label: OURS_TRACKER,
    versus: KUBECTL,
    async run(c, version, n) {
      const r = await c.action('canary', {
        phase: 'canary',
        strategy: 'in-place',
        driver: 'kubectl',
        image: IMAGE,
        version,
        'canary-replicas': String(n),
        replicas: String(n),
        timeout: '10m',
      });
      if (r.exitCode !== 0) throw new Error(`canary (kubectl driver) at ${n} replicas failed: ${r.errors.join(' | ')}`);
      return r;
    },
  },
  {
    label: KUBECTL,
    async run(c, version) {
      const set = await c.setImage(version);
      const st = await c.rolloutStatus('10m');
      if (st.code !== 0) throw new Error(`kubectl rollout status failed: ${st.stderr}`);
      return { start: set.start, end: st.end };
    },
  },
];

interface Point {
  wall: number[];
  afterComplete: number[];
  requests: number[];
  ownRequests: number[];
}

export async function scaleFigure(o: ScaleOptions): Promise<Section> {
  const results = new Map<string, Point>();
  for (const n of o.replicas) {
    for (const s of SUBJECTS) {
      progress(`scale: ${n} replicas, ${s.label}`);
      // engines off: readiness is time-based, so 200 pods cost no engine doubles; same delay for every size
      const c = await startBenchCluster({ podStartupDelayMs: o.podStartupDelayMs, engines: false });
      const p: Point = { wall: [], afterComplete: [], requests: [], ownRequests: [] };
      try {
        await c.install('1.0.0', ['--set', `engine.replicaCount=${n}`, '--set', 'autoscaling.enabled=false']);
        for (let i = 0; i < (n >= 200 ? 1 : o.repeats); i++) {
          const version = `1.1.${i}`;
          const probe = c.completion(`${IMAGE}:${version}`);
          const { start, end } = await s.run(c, version, n);
          probe.stop();
          if (probe.at === undefined) throw new Error(`scale ${n}: ${s.label}: no completed rollout seen`);
          const counts = countRequests(await c.requests(start, end));
          p.wall.push(end - start);
          p.afterComplete.push(end - probe.at);
          p.requests.push(counts.total);
          p.ownRequests.push(s.label.startsWith('ours') ? counts.action : counts.kubectl);
        }
      } finally {
        await c.stop();
      }
      results.set(`${n}/${s.label}`, p);
    }
  }
  const rows: string[][] = [];
  for (const s of SUBJECTS) {
    for (const n of o.replicas) {
      const p = results.get(`${n}/${s.label}`)!;
      const wall = stats(p.wall);
      const versus = s.versus ? stats(results.get(`${n}/${s.versus}`)!.wall).median : Number.NaN;
      const req = stats(p.requests);
      rows.push([
        s.label,
        String(n),
        ms(wall.median),
        `${ms(wall.min)}–${ms(wall.max)}`,
        s.versus ? ratio(wall.median / versus) : '',
        ms(stats(p.afterComplete).median),
        String(req.median),
        `${req.min}–${req.max}`,
        String(stats(p.ownRequests).median),
      ]);
    }
  }
  const growth = (label: string) => {
    const first = stats(results.get(`${o.replicas[0]}/${label}`)!.requests).median;
    const last = stats(results.get(`${o.replicas[o.replicas.length - 1]}/${label}`)!.requests).median;
    return `${first} → ${last}`;
  };
  return {
    key: 'scale',
    title: '7. Scale: 2, 20 and 200 replicas',
    goal: '',
    verdict:
      `No goal; this shows how cost grows. API requests from ${o.replicas[0]} to ${o.replicas[o.replicas.length - 1]} replicas: ` +
      `${OURS_TRACKER} ${growth(OURS_TRACKER)}, ${KUBECTL} ${growth(KUBECTL)}, ${OURS_HELM} ${growth(OURS_HELM)}, ` +
      `${HELM_KUBECTL} ${growth(HELM_KUBECTL)}.`,
    tables: [
      {
        caption: `Median of ${o.repeats} rollouts per point (one at 200 replicas, where a rollout takes about half a minute; pod start-up delay ${o.podStartupDelayMs} ms at every size). Ratio: ours / the by-hand equivalent (helm driver vs helm + kubectl, tracker vs kubectl). "Own requests": the action's own client (ours) or kubectl's (baselines), without helm's.`,
        columns: [
          'subject',
          'replicas',
          'wall: median',
          'min–max',
          'ratio',
          'return after complete',
          'API requests',
          'min–max',
          'own requests',
        ],
        rows,
      },
    ],
    method:
      'For each size and subject a fresh sandbox (engine doubles off: readiness is time-based, so 200 pods cost no HTTP ' +
      'servers; the pod start-up delay is the same at every size; default RollingUpdate 25 % / 25 %) gets 1.0.0 at N ' +
      'replicas, autoscaling off, then rolls out 1.1.0, 1.1.1 to the same N replicas. Ours: the canary bundle with ' +
      '`canary-replicas: N` through helm 3 (helm driver), and through the API with the watch tracker only (kubectl driver). ' +
      'Baselines: `helm upgrade --wait` then `kubectl rollout status`; `kubectl set image` then `kubectl rollout status`. ' +
      'Wall time is spawn → exit; "return after complete" is from the store event completing the rollout to the return; ' +
      'requests are every journal entry that began during the step, watches counted once.',
  };
}
