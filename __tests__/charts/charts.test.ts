/** Chart renderings of the report model, checked by the real Mermaid parser. */
import { describe, expect, test } from '@jest/globals';
import {
  MAX_POINTS,
  chartLegend,
  downsample,
  mermaidGantt,
  mermaidXyChart,
  sparkline,
  type SeriesPoint,
  type TimeChart,
} from '@veloz/shared/charts';
import { emptyReport, renderLogLines, renderSummary } from '@veloz/shared/report';
import { parseMermaid } from '../support/mermaid';

/** A 30 m window at 1 s interval: 0.2% errors, one 10 s spike to 9% at 20 m, no data at 5 m. */
function longWindow(): SeriesPoint[] {
  return Array.from({ length: 1800 }, (_, i) => ({
    at: i * 1000,
    value: i === 300 ? null : i >= 1200 && i < 1210 ? 0.09 : 0.002,
  }));
}

const errorChart = (over: Partial<TimeChart> = {}): TimeChart => ({
  title: 'Error rate per pass',
  unit: 'fraction',
  series: [{ name: 'target', points: longWindow() }],
  thresholds: [
    { name: 'rollback (§4.1)', value: 0.05 },
    { name: 'alert (§3.3)', value: 0.01 },
  ],
  verdict: { label: 'ROLLBACK', at: 1_205_000 },
  ...over,
});

const mermaidBlocks = (markdown: string): string[] =>
  [...markdown.matchAll(/```mermaid\n([\s\S]*?)\n```/g)].map((m) => m[1]!);

describe('down-sampling keeps the maxima', () => {
  test('1,800 passes become at most 120 points and the 10 s spike survives', () => {
    const points = downsample(longWindow());
    expect(points.length).toBeLessThanOrEqual(MAX_POINTS);
    expect(points.length).toBe(120);
    expect(Math.max(...points.map((p) => p.value ?? 0))).toBe(0.09);
    // an average would have flattened it to 0.6%; the maximum keeps the 9%
    expect(points.filter((p) => p.value === 0.09)).toHaveLength(1);
    expect(points.every((p, i) => i === 0 || p.at > points[i - 1]!.at)).toBe(true);
  });

  test('a short series is left as it is', () => {
    const short = [
      { at: 0, value: 0.1 },
      { at: 1000, value: null },
    ];
    expect(downsample(short)).toEqual(short);
  });
});

describe('Mermaid text of every chart type passes the real Mermaid parser', () => {
  test('xychart-beta: one series, thresholds as lines, the verdict as a bar on its pass', async () => {
    const text = mermaidXyChart(errorChart());
    expect(await parseMermaid(text)).toBe('xychart');
    const lines = text.split('\n');
    expect(lines.filter((l) => l.startsWith('  line ['))).toHaveLength(3);
    const xs = /x-axis "[^"]*" \[(.*)\]/.exec(text)![1]!.split('", "');
    expect(xs).toHaveLength(120);
    expect(xs.filter((x) => x.includes('ROLLBACK'))).toEqual(['ROLLBACK +20m']);
    // the series' maximum (9%) and the rollback threshold (5%) as drawn values
    expect(lines[5]).toMatch(/^ {2}bar \[(0, )+10(, 0)+\]$/);
    expect(lines[6]).toContain(', 9, ');
    expect(lines[7]).toBe(`  line [${Array(120).fill(5).join(', ')}]`);
    expect(chartLegend(errorChart())).toMatch(/1800 passes shown as 120 points, each the maximum of its passes/);
  });

  test('xychart-beta: canary and baseline on one chart', async () => {
    const chart: TimeChart = {
      title: 'P99 latency per pass',
      unit: 'ms',
      series: [
        {
          name: 'canary',
          points: [
            { at: 0, value: 120 },
            { at: 30_000, value: 1250 },
          ],
        },
        {
          name: 'baseline stable',
          points: [
            { at: 0, value: 80 },
            { at: 30_000, value: 90 },
          ],
        },
      ],
      thresholds: [{ name: 'rollback (§4.1)', value: 1000 }],
      verdict: { label: 'WARN', at: 30_000 },
    };
    const text = mermaidXyChart(chart);
    expect(await parseMermaid(text)).toBe('xychart');
    expect(text).toContain('line [120, 1250]');
    expect(text).toContain('line [80, 90]');
    expect(text).toContain('"+0s", "WARN +30s"');
    expect(chartLegend(chart)).toMatch(/red: canary · blue: baseline stable · grey: rollback \(§4.1\) 1s/);
  });

  test('gantt: the rollback steps with their durations; a failed step is critical, skipped ones are left out', async () => {
    const text = mermaidGantt('Rollback steps', [
      { name: 'Scale the engine to 0', status: 'done', durationMs: 1500 },
      { name: 'Restore PostgreSQL: point in time', status: 'done', durationMs: 42_000 },
      { name: 'helm rollback', status: 'failed', durationMs: 3200 },
      { name: 'Scale back', status: 'not-run' },
    ]);
    expect(await parseMermaid(text)).toBe('gantt');
    expect(text).toContain('Scale the engine to 0 (1.5s) :done, s0, 0, 1500');
    expect(text).toContain('Restore PostgreSQL  point in time (42s) :done, s1, 1500, 43500');
    expect(text).toContain('helm rollback (3.2s) :crit, s2, 43500, 46700');
    expect(text).not.toContain('Scale back');
  });

  test('the parser refuses broken chart text (so the checks above can fail)', async () => {
    await expect(parseMermaid('xychart-beta\n  line [1, 2,')).rejects.toThrow(/Parse error/);
    // a task line that lost its ':' (what an unsanitised step name could do) is refused
    await expect(parseMermaid('gantt\n  dateFormat x\n  Restore PostgreSQL 42s')).rejects.toThrow(/Parse error/);
  });

  test('a report renders its charts in the summary and as sparklines in the log lines', async () => {
    const report = emptyReport('validate', 'Validate', new Date(0));
    report.charts = [errorChart()];
    const summary = renderSummary(report);
    const blocks = mermaidBlocks(summary);
    expect(blocks).toHaveLength(1);
    expect(await parseMermaid(blocks[0]!)).toBe('xychart');
    expect(summary).toContain('### Error rate per pass');
    const spark = renderLogLines(report).find((l) => l.includes('Error rate per pass'))!;
    expect(spark).toMatch(
      /^ {2}Error rate per pass, target: [▁█]+ min 0\.2% max 9% \(rollback \(§4\.1\) 5%, alert \(§3\.3\) 1%\)$/,
    );
    expect(spark.split(': ')[1]!.split(' ')[0]).toHaveLength(60);

    const rollback = emptyReport('rollback', 'Rollback', new Date(0));
    rollback.steps = [
      { name: 'Scale to 0', status: 'done', durationMs: 900 },
      { name: 'Roll back', status: 'done', durationMs: 4100 },
    ];
    const gantt = mermaidBlocks(renderSummary(rollback));
    expect(gantt).toHaveLength(1);
    expect(await parseMermaid(gantt[0]!)).toBe('gantt');
  });

  test('sparkline of a series without data says so', () => {
    const chart = errorChart();
    expect(sparkline(chart, { name: 'target', points: [{ at: 0, value: null }] })).toBe('target: no data');
  });
});
