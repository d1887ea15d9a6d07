/**
 * Figure 6 — API economy: Kubernetes API requests per phase (canary, promote, rollback) from the
 * sandbox journal, for our actions and for kubectl + helm doing the same steps by hand.
 */
import type { JournalEntry } from '@veloz/sandbox';
import {
  CHART,
  DEPLOYMENT,
  NAMESPACE,
  VALUES_PRODUCTION,
  clientOf,
  startBenchCluster,
  upgradeArgv,
  type HelmTool,
} from './cluster';
import { progress, ratio, stats, type Section } from './lib';

const PHASES = ['canary', 'promote', 'rollback'] as const;
type Phase = (typeof PHASES)[number];

interface Count {
  total: number;
  action: number;
  helm: number;
  kubectl: number;
  watches: number;
  proxy: number;
}

export function countRequests(entries: readonly JournalEntry[]): Count {
  const c: Count = { total: 0, action: 0, helm: 0, kubectl: 0, watches: 0, proxy: 0 };
  for (const e of entries) {
    c.total++;
    const who = clientOf(e);
    if (who === 'action') c.action++;
    else if (who === 'helm') c.helm++;
    else if (who === 'kubectl') c.kubectl++;
    if (e.verb === 'watch') c.watches++;
    if (e.subresource === 'proxy') c.proxy++;
  }
  return c;
}

export interface ApiEconomyOptions {
  repeats: number;
  tools: HelmTool[];
  podStartupDelayMs: number;
}

function upgradeArgs(version: string, replicas: number, autoscaling: boolean): string[] {
  return upgradeArgv(
    version,
    ['--set', `engine.replicaCount=${replicas}`, '--set', `autoscaling.enabled=${autoscaling}`],
    '5m',
  );
}

/** One canary → promote → rollback cycle by our actions on a fresh sandbox; requests per phase. */
async function oursCycle(tool: HelmTool, podStartupDelayMs: number): Promise<Record<Phase, Count>> {
  const c = await startBenchCluster({ podStartupDelayMs });
  try {
    await c.install('1.0.0', [], tool);
    const out = {} as Record<Phase, Count>;
    // in-place: the same operations as the baselines' `helm upgrade`s
    const base = { chart: CHART, 'values-files': VALUES_PRODUCTION, version: '1.1.0', strategy: 'in-place' };
    for (const phase of PHASES) {
      const run =
        phase === 'rollback'
          ? await c.action('rollback', { reason: 'bench: API economy' }, { helm: tool })
          : await c.action('canary', { ...base, phase }, { helm: tool });
      if (run.exitCode !== 0) throw new Error(`our ${phase} (${tool}) failed: ${run.errors.join(' | ')}`);
      out[phase] = countRequests(await c.requests(run.start, run.end));
    }
    return out;
  } finally {
    await c.stop();
  }
}

/** The same cycle by hand: helm upgrade --wait + kubectl rollout status; helm rollback --wait. */
async function baselineCycle(tool: HelmTool, podStartupDelayMs: number): Promise<Record<Phase, Count>> {
  const c = await startBenchCluster({ podStartupDelayMs });
  try {
    await c.install('1.0.0', [], tool);
    const out = {} as Record<Phase, Count>;
    const status = ['rollout', 'status', `deployment/${DEPLOYMENT}`, '-n', NAMESPACE, '--timeout', '5m'];
    for (const phase of PHASES) {
      const start = performance.now();
      if (phase === 'rollback') {
        const r = await c.helm(tool, ['rollback', 'veloz', '1', '-n', NAMESPACE, '--wait', '--timeout', '5m']);
        if (r.code !== 0) throw new Error(`helm rollback failed: ${r.stderr}`);
      } else {
        const up = await c.helm(tool, upgradeArgs('1.1.0', phase === 'canary' ? 1 : 2, phase === 'promote'));
        if (up.code !== 0) throw new Error(`helm upgrade failed: ${up.stderr}`);
        const st = await c.kubectl(status);
        if (st.code !== 0) throw new Error(`kubectl rollout status failed: ${st.stderr}`);
      }
      out[phase] = countRequests(await c.requests(start, performance.now()));
    }
    return out;
  } finally {
    await c.stop();
  }
}

export async function apiEconomyFigure(o: ApiEconomyOptions): Promise<Section> {
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const tool of o.tools) {
    const ours: Record<Phase, Count>[] = [];
    const base: Record<Phase, Count>[] = [];
    for (let i = 0; i < o.repeats; i++) {
      progress(`API economy (${tool}) cycle ${i + 1}/${o.repeats}`);
      ours.push(await oursCycle(tool, o.podStartupDelayMs));
      base.push(await baselineCycle(tool, o.podStartupDelayMs));
    }
    for (const phase of PHASES) {
      const m = (list: Record<Phase, Count>[], k: keyof Count) => stats(list.map((x) => x[phase][k]));
      const ot = m(ours, 'total');
      const bt = m(base, 'total');
      rows.push([
        tool,
        phase,
        String(ot.median),
        `${ot.min}–${ot.max}`,
        `${m(ours, 'action').median} action (${m(ours, 'watches').median} watches, ${m(ours, 'proxy').median} proxy) + ${m(ours, 'helm').median} helm`,
        String(bt.median),
        `${bt.min}–${bt.max}`,
        phase === 'rollback'
          ? `${m(base, 'helm').median} helm`
          : `${m(base, 'helm').median} helm + ${m(base, 'kubectl').median} kubectl (${m(base, 'watches').median} watches)`,
        ratio(ot.median / bt.median),
      ]);
    }
  }
  notes.push(
    'Our canary/promote run helm itself (`helm upgrade --wait`), so its requests are included in ours; ' +
      'our rollback also checks the health endpoints of every pod through pods/proxy and records the rollback on the Deployment, ' +
      'which the bare `helm rollback --wait` does not.',
  );
  return {
    key: 'api-economy',
    title: '6. API economy: Kubernetes API requests per phase',
    goal: 'none set; reported to show the cost to the API server',
    verdict: 'Reported, no goal. Watches count as one request each however long they stay open.',
    tables: [
      {
        caption: `Requests the sandbox journal recorded while the step ran (median of ${o.repeats} cycle(s); pod start-up delay ${o.podStartupDelayMs} ms). Ratio = ours / by hand.`,
        columns: [
          'helm',
          'phase',
          'ours: requests',
          'min–max',
          'ours: by client',
          'kubectl + helm: requests',
          'min–max',
          'by client',
          'ratio',
        ],
        rows,
      },
    ],
    method:
      'Each cycle starts a fresh sandbox, installs 1.0.0 with `helm upgrade --install --wait`, then runs three phases. ' +
      'Ours: the canary bundle with `phase: canary` (1.1.0, one replica, autoscaling off), the canary bundle with ' +
      '`phase: promote`, the rollback bundle (previous good revision). By hand, on another fresh sandbox: ' +
      '`helm upgrade … --set engine.replicaCount=1 --set autoscaling.enabled=false --wait` then ' +
      '`kubectl rollout status`, the same for promote with 2 replicas and autoscaling on, and ' +
      '`helm rollback veloz 1 --wait`. Every request whose start falls inside the phase is counted from the ' +
      "sandbox's request journal (discovery, reads, writes, watches, pods/proxy), attributed by User-Agent.",
    notes,
  };
}
