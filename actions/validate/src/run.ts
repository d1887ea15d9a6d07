import type { RunContext, RunResult } from '@veloz/shared/contract';
import { describeError, type Check, type CheckResult } from '@veloz/shared/checks';
import { urlEndpoint } from '@veloz/shared/http/endpoint';
import { formatDuration, formatPercentage } from '@veloz/shared/parse';
import { emptyReport, type Report } from '@veloz/shared/report';
import { consistencyCheck } from './checks/consistency';
import { healthCheck } from '@veloz/shared/endpoint-checks/health';
import { logsCheck } from './checks/logs';
import { metricsCheck, type ScrapeHolder } from './checks/metrics';
import { orderCheck } from './checks/order';
import { sloCheck } from './checks/slo';
import { smokeCheck } from './checks/smoke';
import { sseCheck } from './checks/sse';
import { websocketCheck } from './checks/websocket';
import { BASELINE_CHECK, judgeAgainstBaseline, resolveBaseline } from './baseline';
import { createDecider, type CriterionMet } from './decision';
import type { ValidateCheckName, ValidateSettings } from './inputs';
import { monitor, type Pass } from './monitor';
import { resolveTarget, type ResolvedTarget } from './target';

export type Verdict = 'pass' | 'warn' | 'rollback';

/**
 * Runbook §3 and §4.1: run the checks once, or every interval over a monitoring window, and answer
 * one question with evidence — is this deployment good, or must it be rolled back?
 */
export async function run(s: Readonly<ValidateSettings>, ctx: RunContext): Promise<RunResult> {
  const started = ctx.clock.now();
  const since = s.logs.since?.getTime() ?? started;
  let target: ResolvedTarget;
  try {
    target = await resolveTarget(s, s.checks.includes('logs') || s.baseline !== undefined, (line) =>
      ctx.log.info(line),
    );
  } catch (error) {
    const report = emptyReport('validate', 'Validate: target not reachable', new Date(started));
    report.status = 'failure';
    report.headline = `Could not find what to validate: ${describeError(error)}`;
    return { report, outputs: { verdict: 'rollback', reasons: report.headline }, failure: report.headline };
  }

  const holder: ScrapeHolder = {};
  const checks = s.checks.map((name) => buildCheck(name, s, target, holder, since));
  if (s.baseline) {
    try {
      const baseline = await resolveBaseline(s, target);
      // The canary's own scrapes feed the comparison, so both sides are measured in the same passes.
      if (!s.checks.includes('metrics')) checks.push(buildCheck('metrics', s, target, holder, since));
      const check = metricsCheck(baseline, { prefix: s.metricsPrefix, timeoutMs: s.checkTimeoutMs, holder: {} });
      checks.push({ ...check, name: BASELINE_CHECK, title: `Baseline metrics (${baseline.describe})` });
    } catch (error) {
      const report = emptyReport('validate', 'Validate: baseline not reachable', new Date(started));
      report.status = 'failure';
      report.headline = `Could not find the baseline: ${describeError(error)}`;
      return { report, outputs: { verdict: 'warn', reasons: report.headline }, failure: report.headline };
    }
  }
  const decider = createDecider(s.decision, s.intervalMs, s.durationMs === 0);
  // Times in the log and summary count from the first pass of the window.
  let windowStart = started;
  const outcome = await ctx.log.group(
    `Validating ${target.description}${s.durationMs ? ` for ${formatDuration(s.durationMs)}, every ${formatDuration(s.intervalMs)}` : ''}`,
    () =>
      monitor({
        checks,
        clock: ctx.clock,
        durationMs: s.durationMs,
        intervalMs: s.intervalMs,
        decider,
        onPass: (pass) => {
          if (pass.index === 0) windowStart = pass.at;
          ctx.log.info(passLine(pass, windowStart));
        },
      }),
  );

  const last = outcome.passes[outcome.passes.length - 1]!;
  const rollbackMet = outcome.met.filter((m) => m.action === 'rollback');
  // A window that ends without a §4.1 verdict says what its traffic could not decide (never a silent pass).
  const conclusion = rollbackMet.length === 0 ? decider.conclude() : { met: [], notes: [] };
  outcome.met.push(...conclusion.met);
  const comparison = s.baseline ? judgeAgainstBaseline(outcome.passes, s.baseline) : undefined;
  if (comparison && comparison.worse.length > 0) {
    const criterion: CriterionMet = {
      criterion: 'canary-vs-baseline',
      action: s.baselineGate ? 'rollback' : 'warn',
      metAt: last.at,
      since: outcome.passes[0]!.at,
      reason: `The canary is significantly worse than the baseline on ${comparison.worse.join(' and ')} (Mann-Whitney U, p < 0.01).`,
      evidence: [],
    };
    (criterion.action === 'rollback' ? rollbackMet : outcome.met).push(criterion);
  }
  const warnMet = outcome.met.filter((m) => m.action === 'warn');
  const troubled = last.results.filter((r) => r.status === 'fail' || r.status === 'warn' || r.status === 'nodata');
  const nodataFails = s.slo?.nodata === 'fail' && last.results.some((r) => r.status === 'nodata');
  const verdict: Verdict =
    rollbackMet.length > 0 ? 'rollback' : warnMet.length > 0 || troubled.length > 0 ? 'warn' : 'pass';

  const reasons = [
    ...rollbackMet.map((m) => m.reason),
    ...warnMet.map((m) => m.reason),
    ...(verdict === 'rollback'
      ? []
      : troubled.map((r) => `${r.name}: ${r.status}${r.observed ? ` — ${r.observed}` : ''}`)),
  ];

  const report = emptyReport(
    'validate',
    `Validate ${target.description}: verdict ${verdict.toUpperCase()}`,
    new Date(started),
  );
  report.finishedAt = new Date(ctx.clock.now()).toISOString();
  report.status = verdict === 'rollback' || nodataFails ? 'failure' : verdict === 'warn' ? 'warning' : 'success';
  report.checks = last.results;
  report.headline = headline(verdict, rollbackMet, outcome.passes, s, windowStart, reasons);
  report.facts.push(
    { label: 'Target', value: `${target.description} (${target.endpoint.describe})` },
    {
      label: 'Window',
      value: `${outcome.passes.length} pass(es) over ${formatDuration(last.at - windowStart)}${outcome.stoppedEarly ? ', stopped as soon as a rollback criterion was met' : ''}`,
    },
  );
  addEvidence(report, rollbackMet.concat(warnMet), windowStart);
  if (conclusion.notes.length > 0) report.sections.push({ heading: 'Runbook §4.1 criteria', lines: conclusion.notes });
  addMetricsTable(report, last.results, s);
  if (comparison) report.sections.push(comparison.section);
  addChecklist(report, last.results);
  if (verdict === 'rollback') {
    report.nextSteps.push(
      s.target.driver === 'helm'
        ? `Roll back: the deploy workflow's rollback job runs next, or \`helm rollback ${s.target.release} -n ${s.target.namespace} --wait\``
        : `Roll back: the deploy workflow's rollback job runs next, or \`kubectl rollout undo deployment/${s.target.deployment} -n ${s.target.namespace}\``,
    );
  }

  const failure =
    verdict === 'rollback' && s.failOnRollback
      ? `Verdict ROLLBACK: ${rollbackMet.map((m) => m.reason).join(' ')}`
      : nodataFails
        ? `No data from Prometheus for: ${last.results
            .filter((r) => r.status === 'nodata')
            .map((r) => r.name)
            .join(', ')} (nodata: fail).`
        : undefined;
  return {
    report,
    outputs: { verdict, reasons: reasons.join('\n') },
    failure,
    warnings:
      verdict === 'warn'
        ? [`Verdict WARN: ${reasons.join('; ')}`]
        : verdict === 'rollback' && !s.failOnRollback
          ? [`Verdict ROLLBACK: ${reasons[0] ?? ''}`]
          : [],
  };
}

function buildCheck(
  name: ValidateCheckName,
  s: Readonly<ValidateSettings>,
  target: ResolvedTarget,
  holder: ScrapeHolder,
  since: number,
): Check {
  const ep = target.endpoint;
  const timeoutMs = s.checkTimeoutMs;
  switch (name) {
    case 'health':
      return healthCheck(ep, { paths: s.healthPaths, timeoutMs });
    case 'smoke':
      return smokeCheck(ep, { assertions: s.smoke, timeoutMs });
    case 'metrics':
      return metricsCheck(ep, {
        prefix: s.metricsPrefix,
        timeoutMs,
        holder,
        thresholds: s.thresholds,
      });
    case 'order':
      return orderCheck(ep, { token: s.testToken ?? '', order: s.order, timeoutMs });
    case 'sse':
      return sseCheck(ep, { minEvents: s.sse.minEvents, timeoutMs: s.sse.timeoutMs });
    case 'websocket':
      return websocketCheck(ep, { timeoutMs: s.websocketTimeoutMs });
    case 'slo':
      return sloCheck(urlEndpoint(s.slo!.prometheusUrl), {
        slo: s.slo!,
        selector: target.selector,
        timeoutMs,
        traffic: {
          requestsMetric: `${s.metricsPrefix}http_requests_total`,
          durationMetric: `${s.metricsPrefix}http_request_duration_seconds`,
        },
      });
    case 'logs':
      return logsCheck(target.kube!, {
        namespace: s.target.namespace,
        pods: target.pods,
        pattern: s.logs.pattern,
        threshold: s.logs.threshold,
        since,
        limitBytes: s.logs.limitBytes,
        timeoutMs,
      });
    case 'consistency':
      return consistencyCheck(ep, { ...s.consistency, timeoutMs });
  }
}

function passLine(pass: Pass, started: number): string {
  const marks = pass.results.map((r) => `${r.name}=${r.status}`).join(' ');
  const figures = [
    pass.sample.errorRate !== undefined ? `errors ${formatPercentage(pass.sample.errorRate)}` : '',
    pass.sample.p99Ms !== undefined ? `p99 ${formatDuration(pass.sample.p99Ms)}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const met = pass.met.map((m) => ` → ${m.action.toUpperCase()}: ${m.reason}`).join('');
  return `pass ${pass.index + 1} at +${formatDuration(pass.at - started)}: ${marks}${figures ? ` (${figures})` : ''}${met}`;
}

function headline(
  verdict: Verdict,
  met: CriterionMet[],
  passes: Pass[],
  s: Readonly<ValidateSettings>,
  started: number,
  reasons: string[],
): string {
  if (verdict === 'rollback') {
    const first = met[0]!;
    return `ROLL BACK. ${first.reason} Breach since +${formatDuration(first.since - started)}, criterion met at +${formatDuration(first.metAt - started)} (pass ${passes.length}).`;
  }
  if (verdict === 'warn') return `Evaluate before promoting: ${reasons.join('; ')}.`;
  return `All checks passed${s.durationMs ? ` in every pass of the ${formatDuration(s.durationMs)} window` : ''}; no rollback criterion met.`;
}

/** Evidence tables show at most this many samples: the first and last few of a long window. */
const EVIDENCE_ROWS = 12;

/** For a met criterion: the samples that proved it, with their times, request counts and values. */
function addEvidence(report: Report, met: CriterionMet[], started: number): void {
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
function addMetricsTable(report: Report, results: CheckResult[], s: Readonly<ValidateSettings>): void {
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
  const { expected, alert } = s.thresholds;
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

const CHECKLIST: [string, string[]][] = [
  ['All health endpoints returning 200', ['health']],
  ['API endpoints functional', ['smoke', 'order']],
  ['SSE stream delivering events', ['sse']],
  ['WebSocket connections working', ['websocket']],
  ['Metrics being collected', ['metrics']],
  ['No error spikes in logs', ['logs']],
  ['Latency within SLO', ['slo', 'metrics']],
  ['Database connections stable', ['consistency']],
  ['Redis operations working', []],
  ['Replication lag < 1MB', []],
];

/** Runbook §3.4, ticked from this pass; items no check covers say so rather than pretend. */
function addChecklist(report: Report, results: CheckResult[]): void {
  const lines = CHECKLIST.map(([item, names]) => {
    const covering = results.filter(
      (r) =>
        names.includes(r.name) &&
        r.status !== 'skip' &&
        // the engine's /metrics only says something about latency once two scrapes exist
        !(item.startsWith('Latency') && r.name === 'metrics' && typeof r.data?.p99Ms !== 'number'),
    );
    if (covering.length === 0)
      return `- [ ] ${item} — not checked by this step${names.length === 0 ? ' (preflight checks it)' : ''}`;
    const ok = covering.every((r) => r.status === 'pass');
    return `- [${ok ? 'x' : ' '}] ${item}${
      ok
        ? ''
        : ` — ${covering
            .filter((r) => r.status !== 'pass')
            .map((r) => `${r.name}: ${r.status}`)
            .join(', ')}`
    }`;
  });
  report.sections.push({ heading: 'Validation checklist (runbook §3.4)', lines });
}
