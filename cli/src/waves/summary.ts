/**
 * The one picture of a wave release: a row per cluster (wave, version before and after, verdict,
 * how long its deploy took, links) and a Mermaid chart of the waves (GitHub renders it in the job
 * summary), from the outcomes read back from the deployment records.
 */
import { formatDuration } from '@veloz/shared/parse';
import type { ClusterOutcome, Verdict } from './outcome';
import type { WavePlan } from './plan';

const MARK: Record<Verdict, string> = {
  promoted: '✅ promoted',
  'rolled back': '↩️ rolled back',
  failed: '❌ failed',
  'in progress': '⏳ in progress',
  'not started': '⏸️ not started',
};

const CLASS: Record<Verdict, string> = {
  promoted: 'promoted',
  'rolled back': 'rolledback',
  failed: 'failed',
  'in progress': 'inprogress',
  'not started': 'notstarted',
};

export function releaseVerdict(
  outcomes: readonly ClusterOutcome[],
): 'PROMOTED' | 'ROLLED BACK' | 'FAILED' | 'INCOMPLETE' {
  if (outcomes.every((o) => o.verdict === 'promoted')) return 'PROMOTED';
  if (outcomes.some((o) => o.verdict === 'failed')) return 'FAILED';
  if (outcomes.some((o) => o.verdict === 'rolled back')) return 'ROLLED BACK';
  return 'INCOMPLETE';
}

export function renderWaveSummary(
  plan: WavePlan,
  outcomes: readonly ClusterOutcome[],
  context: { version: string; runUrl: string },
): string {
  const verdict = releaseVerdict(outcomes);
  const lines = [
    `## VeloZ ${context.version} in ${plan.waves.length} wave(s): ${verdict}`,
    '',
    `on-failure: \`${plan.onFailure}\` · [this run](${context.runUrl})`,
    '',
    '| Wave | Cluster | Before | After | Verdict | Duration | Links |',
    '| ---- | ------- | ------ | ----- | ------- | -------- | ----- |',
    ...outcomes.map((o) => {
      const mark = `${MARK[o.verdict]}${o.byRollbackAll ? ' (rollback-all)' : ''}`;
      const duration = o.durationMs === undefined ? '' : formatDuration(o.durationMs);
      const links = `[deployments](${o.environmentUrl})`;
      return `| ${o.wave} ${cell(o.waveName)} | ${cell(o.cluster)} | ${o.before ?? ''} | ${o.after ?? ''} | ${mark} | ${duration} | ${links} |`;
    }),
    '',
    '```mermaid',
    ...waveChart(plan, outcomes),
    '```',
    '',
  ];
  return lines.join('\n');
}

function waveChart(plan: WavePlan, outcomes: readonly ClusterOutcome[]): string[] {
  const out = ['flowchart LR'];
  plan.waves.forEach((wave, i) => {
    out.push(`  subgraph w${i + 1}["Wave ${i + 1}: ${label(wave.name)} (max ${wave.maxParallel} at once)"]`);
    for (const cluster of wave.clusters) {
      const o = outcomes.find((x) => x.cluster === cluster);
      const verdict = o?.verdict ?? 'not started';
      out.push(
        `    c${nodeId(cluster)}["${label(cluster)}<br/>${verdict}${o?.after ? ` · ${label(o.after)}` : ''}"]:::${CLASS[verdict]}`,
      );
    }
    out.push('  end');
  });
  for (let i = 1; i < plan.waves.length; i++) out.push(`  w${i} --> w${i + 1}`);
  out.push(
    '  classDef promoted fill:#dafbe1,stroke:#1a7f37',
    '  classDef rolledback fill:#fff8c5,stroke:#9a6700',
    '  classDef failed fill:#ffebe9,stroke:#cf222e',
    '  classDef inprogress fill:#ddf4ff,stroke:#0969da',
    '  classDef notstarted fill:#f6f8fa,stroke:#8c959f',
  );
  return out;
}

/** Mermaid node ids: letters and digits only, distinct per cluster name. */
function nodeId(cluster: string): string {
  return Buffer.from(cluster).toString('hex');
}

/** Text inside a quoted Mermaid label: no quotes or brackets that would end it. */
function label(text: string): string {
  return text.replace(/["[\]{}<>]/g, '');
}

/** A table cell: a pipe would split it. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}
