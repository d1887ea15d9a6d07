/**
 * The validate report's parts (runbook §3, §4.1): the log line per pass, the headline, the evidence
 * behind a met criterion, the §3.3 monitoring table and the §3.4 checklist.
 */
import type { CheckResult } from '@veloz/shared/checks';
import { formatDuration, formatPercentage } from '@veloz/shared/parse';
import type { TimeChart } from '@veloz/shared/charts';
import type { Report } from '@veloz/shared/report';
import type { CriterionMet } from './decision';
import type { ValidateSettings } from './inputs';
import type { Pass } from './monitor';
import type { PassHistory } from './pass-history';

export type Verdict = 'pass' | 'warn' | 'rollback';

export function passLine(pass: Pass, started: number): string {
  const marks = pass.results.map((r) => `${r.name}=${r.status}`).join(' ');
  const figures = [
    pass.sample.errorRate !== undefined ? `errors ${formatPercentage(pass.sample.errorRate)}` : '',
    pass.sample.p99Ms !== undefined ? `p99 ${formatDuration(pass.sample.p99Ms)}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const met = pass.met.map((m) => ` → ${m.action.toUpperCase()}: ${m.reason}`).join('');
  return `pass ${pass.index + 1} at +${formatDuration(pass.at - started)}: ${marks}${figures ? ` (${figures})` : ''} in ${formatDuration(pass.tookMs)}${met}`;
}

export function headline(
  verdict: Verdict,
  met: CriterionMet[],
  passes: number,
  settings: Readonly<ValidateSettings>,
  started: number,
  reasons: string[],
): string {
  if (verdict === 'rollback') {
    const first = met[0]!;
    return `ROLL BACK. ${first.reason} Breach since +${formatDuration(first.since - started)}, criterion met at +${formatDuration(first.metAt - started)} (pass ${passes}).`;
  }
  if (verdict === 'warn') return `Evaluate before promoting: ${reasons.join('; ')}.`;
  return `All checks passed${settings.durationMs ? ` in every pass of the ${formatDuration(settings.durationMs)} window` : ''}; no rollback criterion met.`;
}

/** Evidence tables show at most this many samples: the first and last few of a long window. */
const EVIDENCE_ROWS = 12;

/** For a met criterion: the samples that proved it, with their times, request counts and values. */
export function addEvidence(report: Report, met: CriterionMet[], started: number): void {
  for (const m of met) {
    const shown =
      m.evidence.length > EVIDENCE_ROWS
        ? [...m.evidence.slice(0, EVIDENCE_ROWS / 2), undefined, ...m.evidence.slice(-EVIDENCE_ROWS / 2)]
        : m.evidence;
    report.sections.push({
      heading: `${m.action === 'rollback' ? 'Rollback' : 'Warning'} criterion: ${m.criterion}`,
      lines: [m.reason],
      columns: m.evidence.length
        ? ['Sample', 'Time', 'Healthy', 'Requests', 'Errors', 'Error rate', 'P99', 'Failures']
        : undefined,
      rows: shown.map((e, i) =>
        e === undefined
          ? ['…', `${m.evidence.length - EVIDENCE_ROWS} more`, '', '', '', '', '', '']
          : [
              String(m.evidence.indexOf(e) + 1 || i + 1),
              `+${formatDuration(e.at - started)} (${new Date(e.at).toISOString()})`,
              e.healthy === undefined ? '' : e.healthy ? 'yes' : 'no',
              e.traffic ? e.traffic.requests.toLocaleString('en-US') : '',
              e.traffic ? e.traffic.errors.toLocaleString('en-US') : '',
              e.errorRate === undefined ? 'no data' : formatPercentage(e.errorRate),
              e.p99Ms === undefined ? 'no data' : formatDuration(e.p99Ms),
              Object.entries(e.functionalFailures)
                .map(([k, v]) => `${k}: ${v}`)
                .join('; '),
            ],
      ),
    });
  }
}

/** Runbook §3.3 as a table: what was observed against Expected and the Alert Threshold. */
export function addMetricsTable(report: Report, results: CheckResult[], settings: Readonly<ValidateSettings>): void {
  const slo = results.find((r) => r.name === 'slo')?.data?.rows;
  if (Array.isArray(slo)) {
    report.sections.push({
      heading: 'Monitoring (runbook §3.3, from Prometheus)',
      columns: ['Metric', 'Observed', 'Expected', 'Alert threshold', 'Result'],
      rows: (slo as string[][]).map((row) => row.map(String)),
    });
    return;
  }
  const m = results.find((r) => r.name === 'metrics')?.data;
  if (!m || (m.errorRate === undefined && m.p99Ms === undefined)) return;
  const { expected, alert } = settings.thresholds;
  report.sections.push({
    heading: "Monitoring (runbook §3.3, from the engine's /metrics between the last two passes)",
    columns: ['Metric', 'Observed', 'Expected', 'Alert threshold'],
    rows: [
      [
        'Error rate',
        typeof m.errorRate === 'number' ? formatPercentage(m.errorRate) : 'no data',
        `< ${formatPercentage(expected.errorRate)}`,
        `> ${formatPercentage(alert.errorRate)}`,
      ],
      [
        'P99 latency',
        typeof m.p99Ms === 'number' ? formatDuration(m.p99Ms) : 'no data',
        `< ${formatDuration(expected.p99Ms)}`,
        `> ${formatDuration(alert.p99Ms)}`,
      ],
    ],
  });
}

type Failing = { replication?: boolean; connections?: boolean };

/** Whether a result's failure concerns an item: the postgres check says which of its parts failed. */
const part =
  (key: keyof Failing) =>
  (r: CheckResult): boolean => {
    const failing = r.data?.failing as Failing | undefined;
    return r.name !== 'postgres' || failing === undefined || failing[key] === true;
  };

/** Runbook §3.4, each item with the checks that decide it (and, for a shared check, which part). */
const CHECKLIST: [string, string[], ((r: CheckResult) => boolean)?][] = [
  ['All health endpoints returning 200', ['health']],
  ['API endpoints functional', ['smoke', 'order']],
  ['SSE stream delivering events', ['sse']],
  ['WebSocket connections working', ['websocket']],
  ['Metrics being collected', ['metrics']],
  ['No error spikes in logs', ['logs']],
  ['Latency within SLO', ['slo', 'metrics']],
  ['Database connections stable', ['postgres', 'consistency'], part('connections')],
  ['Redis operations working', ['redis']],
  ['Replication lag < 1MB', ['postgres'], part('replication')],
];

const INPUT_FOR: Record<string, string> = {
  'Database connections stable': 'set `postgres-url`',
  'Redis operations working': 'set `sentinel-addresses`',
  'Replication lag < 1MB': 'set `postgres-url`',
};

/** Runbook §3.4, ticked from this pass; items no check covers say so (and which input decides them). */
export function addChecklist(report: Report, results: CheckResult[]): void {
  const lines = CHECKLIST.map(([item, names, concerns]) => {
    const covering = results.filter(
      (r) =>
        names.includes(r.name) &&
        r.status !== 'skip' &&
        // the engine's /metrics only says something about latency once two scrapes exist
        !(item.startsWith('Latency') && r.name === 'metrics' && typeof r.data?.p99Ms !== 'number'),
    );
    if (covering.length === 0)
      return `- [ ] ${item} — not checked by this step${INPUT_FOR[item] ? ` (${INPUT_FOR[item]})` : ''}`;
    const bad = covering.filter((r) => r.status !== 'pass' && (concerns?.(r) ?? true));
    return `- [${bad.length === 0 ? 'x' : ' '}] ${item}${bad.length ? ` — ${bad.map((r) => `${r.name}: ${r.status}${r.status === 'fail' && r.observed ? ` (${r.observed})` : ''}`).join(', ')}` : ''}`;
  });
  report.sections.push({ heading: 'Validation checklist (runbook §3.4)', lines });
}

/**
 * Error rate and p99 per pass as charts of the report (the summary draws them, terminals print them as
 * sparklines): the §4.1 rollback and §3.3 alert thresholds as lines, the verdict's moment marked, the
 * baseline beside the canary when one was measured.
 */
export function addCharts(
  report: Report,
  history: PassHistory,
  settings: Readonly<ValidateSettings>,
  verdict: { label: string; at: number },
  started: number,
): void {
  const target = settings.baseline ? 'canary' : 'target';
  // One chart per §4.1 figure: the measured series, the baseline beside it, the rollback and alert lines.
  const chartOf = (title: string, unit: TimeChart['unit'], figure: 'errorRate' | 'p99Ms'): TimeChart => ({
    title,
    unit,
    series: [
      history.charts.target[figure].series(target),
      ...(settings.baseline ? [history.charts.baseline[figure].series(`baseline ${settings.baseline}`)] : []),
    ],
    thresholds: [
      { name: 'rollback (§4.1)', value: settings.decision[figure] },
      { name: 'alert (§3.3)', value: settings.thresholds.alert[figure] },
    ],
    verdict: { label: verdict.label, at: verdict.at - started },
  });
  const charts = [
    chartOf('Error rate per pass', 'fraction', 'errorRate'),
    chartOf('P99 latency per pass', 'ms', 'p99Ms'),
  ];
  const measured = charts.filter((c) => c.series.some((x) => x.points.some((p) => p.value !== null)));
  if (measured.length > 0) report.charts = measured;
}
