import { chartLegend, mermaidGantt, mermaidXyChart, sparkline, type TimeChart } from './charts';
import type { CheckResult, CheckStatus } from './checks';
import { formatDuration } from './parse';
import { escapeMarkdown, fenceFor } from './secrets';

export type ActionName = 'preflight' | 'canary' | 'validate' | 'rollback';
type ReportStatus = 'success' | 'warning' | 'failure';

interface Fact {
  label: string;
  value: string;
}

export type StepStatus = 'done' | 'failed' | 'skipped' | 'not-run';

/** One step of a sequence (deploy, rollback, restore), reported with its duration. */
export interface Step {
  name: string;
  status: StepStatus;
  durationMs?: number;
  detail?: string;
}

/** A free-form table (e.g. the §3.3 metrics table) that every rendering can show. */
export interface Section {
  heading: string;
  columns?: string[];
  rows?: string[][];
  lines?: string[];
}

/**
 * The one report shape every action produces. The job summary, the JSON file, the log lines and
 * the notification texts are all renderings of it, so they can never disagree.
 * Built only from redacted values: secrets never enter a report.
 */
export interface Report {
  action: ActionName;
  title: string;
  status: ReportStatus;
  /** One sentence for the person on call: what happened and what it means. */
  headline: string;
  startedAt: string;
  finishedAt: string;
  facts: Fact[];
  checks: CheckResult[];
  steps: Step[];
  sections: Section[];
  /** Commands or actions to take next, most useful first. */
  nextSteps: string[];
  notifications: string[];
  /** Figures over time (validate: error rate and p99 per pass), drawn from these numbers only. */
  charts?: TimeChart[];
}

export function emptyReport(action: ActionName, title: string, startedAt: Date): Report {
  return {
    action,
    title,
    status: 'success',
    headline: '',
    startedAt: startedAt.toISOString(),
    finishedAt: startedAt.toISOString(),
    facts: [],
    checks: [],
    steps: [],
    sections: [],
    nextSteps: [],
    notifications: [],
  };
}

export const STATUS_ICON: Record<CheckStatus, string> = {
  pass: '✅',
  warn: '⚠️',
  fail: '❌',
  skip: '⏭️',
  nodata: '❔',
};

const REPORT_ICON: Record<ReportStatus, string> = { success: '✅', warning: '⚠️', failure: '❌' };
const STEP_ICON: Record<StepStatus, string> = { done: '✅', failed: '❌', skipped: '⏭️', 'not-run': '◻️' };

/** The worst status among checks decides the report status unless the caller says otherwise. */
export function statusOf(checks: readonly CheckResult[], failOn: 'fail' | 'warn' = 'fail'): ReportStatus {
  if (checks.some((c) => c.status === 'fail')) return 'failure';
  if (checks.some((c) => c.status === 'warn' || c.status === 'nodata'))
    return failOn === 'warn' ? 'failure' : 'warning';
  return 'success';
}

/** Markdown for $GITHUB_STEP_SUMMARY: what an approver reads before promoting. */
export function renderSummary(report: Report): string {
  const out: string[] = [`## ${REPORT_ICON[report.status]} ${escapeInline(report.title)}`, ''];
  if (report.headline) out.push(escapeInline(report.headline), '');
  if (report.facts.length > 0) {
    out.push(
      table(
        ['', ''],
        // Fact values carry free text (a rollback reason): literal, never Markdown or HTML.
        report.facts.map((f) => [`**${f.label}**`, escapeMarkdown(f.value)]),
      ),
      '',
    );
  }
  if (report.checks.length > 0) {
    out.push(
      table(
        ['Check', 'Result', 'Observed', 'Threshold', 'Detail'],
        report.checks.map((c) => [
          c.title,
          `${STATUS_ICON[c.status]} ${c.status}`,
          c.observed ?? '',
          c.threshold ?? '',
          c.detail ?? '',
        ]),
      ),
      '',
    );
  }
  for (const chart of report.charts ?? []) {
    out.push(`### ${escapeInline(chart.title)}`, '', '```mermaid', mermaidXyChart(chart), '```', '');
    out.push(escapeInline(chartLegend(chart)), '');
  }
  if (report.steps.length > 0) {
    out.push('### Steps', '');
    out.push(
      table(
        ['Step', 'Result', 'Took', 'Detail'],
        report.steps.map((s) => [
          s.name,
          `${STEP_ICON[s.status]} ${s.status}`,
          s.durationMs === undefined ? '' : formatDuration(s.durationMs),
          s.detail ?? '',
        ]),
      ),
      '',
    );
    // The rollback's steps as a timeline: where its minutes went (runbook §4.2 "< 2 minutes").
    if (report.action === 'rollback' && report.steps.some((s) => s.durationMs !== undefined))
      out.push('```mermaid', mermaidGantt('Rollback steps', report.steps), '```', '');
  }
  for (const section of report.sections) {
    out.push(`### ${escapeInline(section.heading)}`, '');
    if (section.columns && section.rows) out.push(table(section.columns, section.rows), '');
    for (const line of section.lines ?? []) out.push(escapeInline(line));
    if (section.lines?.length) out.push('');
  }
  if (report.nextSteps.length > 0) {
    out.push('### Next steps', '', ...report.nextSteps.map((s) => `- ${s}`), '');
  }
  for (const text of report.notifications)
    out.push(
      '<details><summary>Notification</summary>',
      '',
      fenceFor(text),
      text,
      fenceFor(text),
      '',
      '</details>',
      '',
    );
  out.push(`<sub>${report.action} · started ${report.startedAt} · finished ${report.finishedAt}</sub>`, '');
  return out.join('\n');
}

/** Plain lines for the job log, one per check and step. */
export function renderLogLines(report: Report): string[] {
  const lines = [`${report.title}: ${report.status.toUpperCase()}${report.headline ? ` — ${report.headline}` : ''}`];
  for (const f of report.facts) lines.push(`  ${f.label}: ${f.value}`);
  for (const c of report.checks) {
    const figures = [c.observed, c.threshold ? `threshold ${c.threshold}` : ''].filter(Boolean).join(', ');
    lines.push(
      `  ${STATUS_ICON[c.status]} ${c.name}${figures ? ` (${figures})` : ''}${c.detail ? ` — ${c.detail}` : ''}`,
    );
  }
  for (const s of report.steps) {
    lines.push(
      `  ${STEP_ICON[s.status]} ${s.name}${s.durationMs === undefined ? '' : ` [${formatDuration(s.durationMs)}]`}${s.detail ? ` — ${s.detail}` : ''}`,
    );
  }
  for (const chart of report.charts ?? [])
    for (const series of chart.series) lines.push(`  ${sparkline(chart, series)}`);
  for (const n of report.nextSteps) lines.push(`  next: ${n}`);
  return lines;
}

export function renderJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

function table(columns: string[], rows: string[][]): string {
  const cell = (text: string): string => escapeCell(text);
  return [
    `| ${columns.map(cell).join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');
}

function escapeCell(text: string): string {
  return escapeInline(text).replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** Keeps user-supplied text from opening HTML in the summary. */
function escapeInline(text: string): string {
  return text.replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
