/**
 * Terminal renderings of the actions' JSON reports (the same report model the job summary is made
 * from): one header line per job, then facts, checks, steps and tables, with ✓/✗ marks. Colour is
 * applied only when asked (stdout is a TTY and NO_COLOR is unset).
 */
import { sparkline } from '@veloz/shared/charts';
import type { Report, Section } from '@veloz/shared/report';
import type { JobRun } from './pipeline';

export interface Style {
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const sgr =
  (open: number, close: number) =>
  (text: string): string =>
    `\x1b[${open}m${text}\x1b[${close}m`;

export function makeStyle(color: boolean): Style {
  if (!color) {
    const plain = (text: string): string => text;
    return { green: plain, red: plain, yellow: plain, cyan: plain, dim: plain, bold: plain };
  }
  return {
    green: sgr(32, 39),
    red: sgr(31, 39),
    yellow: sgr(33, 39),
    cyan: sgr(36, 39),
    dim: sgr(2, 22),
    bold: sgr(1, 22),
  };
}

type Mark = 'ok' | 'warn' | 'bad' | 'none';

function mark(kind: Mark, s: Style): string {
  switch (kind) {
    case 'ok':
      return s.green('✓');
    case 'warn':
      return s.yellow('!');
    case 'bad':
      return s.red('✗');
    case 'none':
      return s.dim('–');
  }
}

const CHECK_MARK: Record<string, Mark> = { pass: 'ok', warn: 'warn', nodata: 'warn', fail: 'bad', skip: 'none' };
const STEP_MARK: Record<string, Mark> = { done: 'ok', failed: 'bad', skipped: 'none', 'not-run': 'none' };

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** The job's line and its report, indented, ready to print. */
export function renderJob(job: JobRun, s: Style): string[] {
  const name = job.job.padEnd(16);
  if (job.result === 'skipped') return [`${mark('none', s)} ${s.dim(`${name} ${'skipped'.padStart(6)}`)}`];
  const report = job.report;
  const kind: Mark = job.result === 'failure' ? 'bad' : report?.status === 'warning' ? 'warn' : 'ok';
  const verdict = job.outputs.verdict ? `  verdict ${colourVerdict(job.outputs.verdict, s)}` : '';
  const lines = [`${mark(kind, s)} ${s.bold(name)} ${s.dim(seconds(job.durationMs).padStart(6))}${verdict}`];
  for (const w of job.run?.warnings ?? []) lines.push(`    ${s.yellow(`! ${w}`)}`);
  if (report) lines.push(...renderReport(report, s).map((l) => `    ${l}`));
  else lines.push(...whyNoReport(job).map((e) => `    ${s.red(e)}`));
  if (job.share) {
    lines.push(`    ${s.bold('share: through the Gateway')}`);
    for (const w of job.share.run.warnings) lines.push(`    ${s.yellow(`! ${w}`)}`);
    // its checklist would repeat validate-canary's with every item "not checked by this step"
    if (job.share.report) lines.push(...renderReport({ ...job.share.report, sections: [] }, s).map((l) => `    ${l}`));
    else lines.push(...job.share.run.errors.map((e) => `    ${s.red(e)}`));
  }
  return lines;
}

/** A run without a report failed before its logic: its error annotations, else the error in its stderr. */
function whyNoReport(job: JobRun): string[] {
  if (job.run?.errors.length) return job.run.errors;
  const lines = (job.run?.stderr ?? '').split('\n').map((l) => l.trim());
  const error = lines.find((l) => /^\w*Error\b/.test(l));
  return error ? [error] : lines.filter(Boolean).slice(-3);
}

function colourVerdict(verdict: string, s: Style): string {
  if (verdict === 'pass') return s.green(verdict.toUpperCase());
  if (verdict === 'warn') return s.yellow(verdict.toUpperCase());
  return s.red(verdict.toUpperCase());
}

export function renderReport(report: Report, s: Style): string[] {
  const lines: string[] = [];
  if (report.headline) lines.push(report.status === 'failure' ? s.red(report.headline) : report.headline);
  const labelWidth = Math.max(0, ...report.facts.map((f) => f.label.length));
  for (const f of report.facts) lines.push(`${s.dim(`${f.label}:`.padEnd(labelWidth + 1))} ${f.value}`);
  const nameWidth = Math.max(0, ...report.checks.map((c) => c.name.length));
  for (const c of report.checks) {
    const threshold = c.threshold ? s.dim(`  (${c.threshold})`) : '';
    const detail = c.status !== 'pass' && c.detail ? ` — ${c.detail}` : '';
    lines.push(
      `${mark(CHECK_MARK[c.status] ?? 'none', s)} ${c.name.padEnd(nameWidth)}  ${c.observed ?? ''}${detail}${threshold}`,
    );
  }
  const stepWidth = Math.max(0, ...report.steps.map((st) => st.name.length));
  for (const st of report.steps) {
    const took = st.durationMs === undefined ? '' : s.dim(` ${seconds(st.durationMs)}`);
    lines.push(
      `${mark(STEP_MARK[st.status] ?? 'none', s)} ${st.name.padEnd(stepWidth)}${took}${st.detail ? `  ${st.detail}` : ''}`,
    );
  }
  for (const chart of report.charts ?? []) for (const series of chart.series) lines.push(sparkline(chart, series));
  for (const section of report.sections) lines.push(...renderSection(section, s));
  for (const next of report.nextSteps.slice(0, 2)) lines.push(`${s.cyan('→')} ${next}`);
  return lines;
}

function renderSection(section: Section, s: Style): string[] {
  const lines = [s.bold(section.heading)];
  if (section.columns && section.rows) lines.push(...table(section.columns, section.rows, s).map((l) => `  ${l}`));
  for (const line of section.lines ?? []) lines.push(`  ${line}`);
  return lines;
}

/** Aligned columns; the summary's emoji marks become ✓/✗ so widths stay even. */
export function table(columns: string[], rows: string[][], s: Style): string[] {
  const clean = (cell: string): string =>
    cell.replace(/✅/g, '✓').replace(/❌/g, '✗').replace(/⚠️/g, '!').replace(/\*\*/g, '').replace(/`/g, '');
  const body = rows.map((r) => r.map(clean));
  const widths = columns.map((c, i) => Math.max(c.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [s.dim(line(columns)), ...body.map(line)];
}

/** Cuts a line to the terminal width, ignoring colour codes when counting. */
export function fit(line: string, width: number): string {
  // eslint-disable-next-line no-control-regex
  const visible = line.replace(/\x1b\[\d+m/g, '');
  if (visible.length <= width) return line;
  return `${visible.slice(0, Math.max(0, width - 1))}…`;
}
