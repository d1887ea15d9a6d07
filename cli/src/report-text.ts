/** The report as aligned plain text for a terminal: the same model the job summary renders. */
import { formatDuration } from '@veloz/shared/parse';
import type { Report } from '@veloz/shared/report';
import type { Paint } from './terminal';

const MARK = {
  pass: '✔',
  warn: '!',
  fail: '✘',
  skip: '-',
  nodata: '?',
  done: '✔',
  failed: '✘',
  skipped: '-',
  'not-run': '·',
};

export function renderText(report: Report, paint: Paint, flagText: (text: string) => string): string {
  const tone = (status: string, text: string): string =>
    /fail|failure/.test(status) ? paint.red(text) : /warn|nodata|warning/.test(status) ? paint.yellow(text) : text;
  const out: string[] = ['', tone(report.status, paint.bold(`${report.title}: ${report.status.toUpperCase()}`))];
  if (report.headline) out.push(flagText(report.headline));
  if (report.facts.length > 0) out.push('', ...columns(report.facts.map((f) => [f.label, f.value])));
  if (report.checks.length > 0) {
    const rows = report.checks.map((c) => [
      `${MARK[c.status]} ${c.status}`,
      c.title,
      c.observed ?? '',
      c.threshold ?? '',
      c.detail ?? '',
    ]);
    out.push('', paint.bold('Checks'), ...columns([['', 'Check', 'Observed', 'Threshold', 'Detail'], ...rows]));
  }
  if (report.steps.length > 0) {
    const rows = report.steps.map((s) => [
      `${MARK[s.status]} ${s.status}`,
      s.name,
      s.durationMs === undefined ? '' : formatDuration(s.durationMs),
      s.detail ?? '',
    ]);
    out.push('', paint.bold('Steps'), ...columns([['', 'Step', 'Took', 'Detail'], ...rows]));
  }
  for (const section of report.sections) {
    out.push('', paint.bold(section.heading));
    if (section.columns && section.rows) out.push(...columns([section.columns, ...section.rows]));
    for (const line of section.lines ?? []) out.push(`  ${line}`);
  }
  if (report.nextSteps.length > 0)
    out.push('', paint.bold('Next'), ...report.nextSteps.map((s) => `  - ${flagText(s)}`));
  return `${out.join('\n')}\n`;
}

/** Rows padded to each column's widest cell; multi-line cells keep their first line. */
export function columns(rows: readonly string[][]): string[] {
  const cells = rows.map((row) => row.map((cell) => cell.split('\n')[0]!));
  const widths: number[] = [];
  for (const row of cells) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return cells.map((row) =>
    `  ${row.map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - [...cell].length))).join('  ')}`.trimEnd(),
  );
}
