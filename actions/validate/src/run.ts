import type { RunContext, RunResult } from '@veloz/shared/contract';
import { describeError, type Check, type CheckResult } from '@veloz/shared/checks';
import { formatDuration } from '@veloz/shared/parse';
import { emptyReport, type Report } from '@veloz/shared/report';
import { judgeAgainstBaseline, type BaselineJudgement } from './baseline';
import { buildChecks } from './build-checks';
import { createDecider, type CriterionMet, type Decider } from './decision';
import { resolveTarget, type ResolvedTarget } from './engine-endpoint';
import type { ValidateSettings } from './inputs';
import { monitor, type MonitorOutcome, type Pass } from './monitor';
import { PassHistory } from './pass-history';
import {
  addCharts,
  addChecklist,
  addEvidence,
  addMetricsTable,
  headline,
  passLine,
  type Verdict,
} from './validate-summary';

export type { Verdict } from './validate-summary';

/**
 * Runbook §3 and §4.1: run the checks once, or every interval over a monitoring window, and answer
 * one question with evidence — is this deployment good, or must it be rolled back?
 */
export async function run(settings: Readonly<ValidateSettings>, ctx: RunContext): Promise<RunResult> {
  const started = ctx.clock.now();
  const prepared = await prepare(settings, ctx, started);
  if ('early' in prepared) return prepared.early;
  const { target, checks } = prepared;
  const decider = createDecider(settings.decision, settings.intervalMs, settings.durationMs === 0);
  const { outcome, history, windowStart } = await watch(settings, ctx, target, checks, decider);
  const judged = judge(settings, outcome, history, decider);
  const report = buildReport(settings, ctx, target, outcome, history, judged, started, windowStart);
  return { report, ...resultOf(settings, judged, outcome.last) };
}

/** What to validate and how: an unreachable target decides `rollback`, an unreachable baseline `warn`. */
async function prepare(
  s: Readonly<ValidateSettings>,
  ctx: RunContext,
  started: number,
): Promise<{ target: ResolvedTarget; checks: Check[] } | { early: RunResult }> {
  const since = s.logs.since?.getTime() ?? started;
  const early = (title: string, headline: string, verdict: Verdict): { early: RunResult } => {
    const report = emptyReport('validate', title, new Date(started));
    report.status = 'failure';
    report.headline = headline;
    return { early: { report, outputs: { verdict, reasons: headline }, failure: headline } };
  };
  let target: ResolvedTarget;
  try {
    target = await resolveTarget(s, s.checks.includes('logs') || s.baseline !== undefined, (line) =>
      ctx.log.info(line),
    );
  } catch (error) {
    const why = `Could not find what to validate: ${describeError(error)}`;
    return early('Validate: target not reachable', why, 'rollback');
  }
  try {
    return { target, checks: await buildChecks(s, target, since) };
  } catch (error) {
    return early('Validate: baseline not reachable', `Could not find the baseline: ${describeError(error)}`, 'warn');
  }
}

/** The monitoring window, one log line per pass; times count from the window's first pass. */
async function watch(
  s: Readonly<ValidateSettings>,
  ctx: RunContext,
  target: ResolvedTarget,
  checks: Check[],
  decider: Decider,
): Promise<{ outcome: MonitorOutcome; history: PassHistory; windowStart: number }> {
  let windowStart = ctx.clock.now();
  const history = new PassHistory(() => windowStart, s.baseline !== undefined);
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
          history.add(pass);
          ctx.log.info(passLine(pass, windowStart));
        },
      }),
  );
  return { outcome, history, windowStart };
}

interface Judged {
  verdict: Verdict;
  rollbackMet: CriterionMet[];
  warnMet: CriterionMet[];
  reasons: string[];
  notes: string[];
  comparison?: BaselineJudgement;
  nodataFails: boolean;
}

/** §4.1's verdict from the criteria met, what the window could not decide, and the last pass. */
function judge(s: Readonly<ValidateSettings>, outcome: MonitorOutcome, history: PassHistory, decider: Decider): Judged {
  const last = outcome.last;
  const rollbackMet = outcome.met.filter((m) => m.action === 'rollback');
  // A window that ends without a §4.1 verdict says what its traffic could not decide (never a silent pass).
  const conclusion = rollbackMet.length === 0 ? decider.conclude() : { met: [], notes: [] };
  outcome.met.push(...conclusion.met);
  const comparison = s.baseline ? judgeAgainstBaseline(history.compared, s.baseline) : undefined;
  if (comparison && comparison.worse.length > 0) {
    const criterion: CriterionMet = {
      criterion: 'canary-vs-baseline',
      action: s.baselineGate ? 'rollback' : 'warn',
      metAt: last.at,
      since: outcome.first.at,
      reason: `The canary is significantly worse than the baseline on ${comparison.worse.join(' and ')} (Mann-Whitney U, p < 0.01).`,
      evidence: [],
    };
    (criterion.action === 'rollback' ? rollbackMet : outcome.met).push(criterion);
  }
  const warnMet = outcome.met.filter((m) => m.action === 'warn');
  const troubled = last.results.filter((r) => r.status === 'fail' || r.status === 'warn' || r.status === 'nodata');
  const verdict: Verdict =
    rollbackMet.length > 0 ? 'rollback' : warnMet.length > 0 || troubled.length > 0 ? 'warn' : 'pass';
  const reasons = [
    ...rollbackMet.map((m) => m.reason),
    ...warnMet.map((m) => m.reason),
    ...(verdict === 'rollback'
      ? []
      : troubled.map((r) => `${r.name}: ${r.status}${r.observed ? ` — ${r.observed}` : ''}`)),
  ];
  const nodataFails = s.slo?.nodata === 'fail' && last.results.some((r) => r.status === 'nodata');
  return { verdict, rollbackMet, warnMet, reasons, notes: conclusion.notes, comparison, nodataFails };
}

function buildReport(
  s: Readonly<ValidateSettings>,
  ctx: RunContext,
  target: ResolvedTarget,
  outcome: MonitorOutcome,
  history: PassHistory,
  j: Judged,
  started: number,
  windowStart: number,
): Report {
  const last = outcome.last;
  const report = emptyReport(
    'validate',
    `Validate ${target.description}: verdict ${j.verdict.toUpperCase()}`,
    new Date(started),
  );
  report.finishedAt = new Date(ctx.clock.now()).toISOString();
  report.status = j.verdict === 'rollback' || j.nodataFails ? 'failure' : j.verdict === 'warn' ? 'warning' : 'success';
  report.checks = last.results;
  report.headline = headline(j.verdict, j.rollbackMet, outcome.count, s, windowStart, j.reasons);
  report.facts.push(
    { label: 'Target', value: `${target.description} (${target.endpoint.describe})` },
    {
      label: 'Window',
      value: `${outcome.count} pass(es) over ${formatDuration(last.at - windowStart)}${outcome.stoppedEarly ? ', stopped as soon as a rollback criterion was met' : ''}`,
    },
  );
  addEvidence(report, j.rollbackMet.concat(j.warnMet), windowStart);
  if (j.notes.length > 0) report.sections.push({ heading: 'Runbook §4.1 criteria', lines: j.notes });
  addMetricsTable(report, last.results, s);
  addCharts(report, history, s, verdictMoment(j, last), windowStart);
  if (j.comparison) report.sections.push(j.comparison.section);
  addChecklist(report, last.results);
  if (j.verdict === 'rollback') {
    report.nextSteps.push(
      s.target.driver === 'helm'
        ? `Roll back: the deploy workflow's rollback job runs next, or \`helm rollback ${s.target.release} -n ${s.target.namespace} --wait\``
        : `Roll back: the deploy workflow's rollback job runs next, or \`kubectl rollout undo deployment/${s.target.deployment} -n ${s.target.namespace}\``,
    );
  }
  return report;
}

/** `observed-share`: green's share of the window's requests through the route, when it was measured. */
function observedShare(last: Pass): Record<string, string> {
  const share = last.results.find((r) => r.name === 'traffic-share')?.data?.share;
  return typeof share === 'number' ? { 'observed-share': `${share.toFixed(1)}%` } : {};
}

/** A rollback is marked where its first criterion was met; pass and warn where the window ended. */
function verdictMoment(j: Judged, last: Pass): { label: string; at: number } {
  const at = j.verdict === 'rollback' ? Math.min(...j.rollbackMet.map((m) => m.metAt)) : last.at;
  return { label: j.verdict.toUpperCase(), at };
}

function resultOf(s: Readonly<ValidateSettings>, j: Judged, last: Pass): Omit<RunResult, 'report'> {
  const nodata = (r: CheckResult): boolean => r.status === 'nodata';
  const failure =
    j.verdict === 'rollback' && s.failOnRollback
      ? `Verdict ROLLBACK: ${j.rollbackMet.map((m) => m.reason).join(' ')}`
      : j.nodataFails
        ? `No data from Prometheus for: ${last.results
            .filter(nodata)
            .map((r) => r.name)
            .join(', ')} (nodata: fail).`
        : undefined;
  return {
    outputs: { verdict: j.verdict, reasons: j.reasons.join('\n'), ...observedShare(last) },
    failure,
    warnings:
      j.verdict === 'warn'
        ? [`Verdict WARN: ${j.reasons.join('; ')}`]
        : j.verdict === 'rollback' && !s.failOnRollback
          ? [`Verdict ROLLBACK: ${j.reasons[0] ?? ''}`]
          : [],
  };
}
