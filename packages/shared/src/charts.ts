/**
 * Charts of a report, as data (part of the report model) and as renderings of it: a Mermaid
 * `xychart-beta` for the job summary (GitHub renders Mermaid in Markdown), a Mermaid `gantt` of timed
 * steps, and a one-line sparkline with min/max for terminals and logs. A 30 m window at 1 s interval
 * is 1,800 passes: series are down-sampled to at most MAX_POINTS, each point the maximum of the passes
 * it stands for, so a spike is never averaged away.
 */
import { formatDuration } from './parse';

export interface SeriesPoint {
  /** Milliseconds since the start of the window. */
  at: number;
  /** null: no measurement in this pass. */
  value: number | null;
}

export interface ChartSeries {
  name: string;
  points: SeriesPoint[];
  /** Passes the points stand for, when already down-sampled (default one pass a point). */
  passes?: number;
}

/** One figure over time: the measured series, the thresholds it is held to, the verdict moment. */
export interface TimeChart {
  title: string;
  /** `fraction` values are shown as percentages; `ms` as durations. */
  unit: 'fraction' | 'ms';
  series: ChartSeries[];
  thresholds: { name: string; value: number }[];
  verdict?: { label: string; at: number };
}

/** Points a chart shows at most: readable on a summary page, enough to see a 10 s spike in 30 m. */
export const MAX_POINTS = 120;
/** Characters a terminal sparkline uses at most. */
const SPARK_WIDTH = 60;

const SERIES_COLOURS = ['#d62728', '#1f77b4', '#7f7f7f', '#ff7f0e', '#2ca02c', '#9467bd'];
// Light, and drawn first, so the lines stay visible across the verdict's bar.
const MARKER_COLOUR = '#d9c8ec';

/** Buckets of consecutive points, each keeping its first time and the maximum value (nulls ignored). */
export function downsample(points: readonly SeriesPoint[], max = MAX_POINTS): SeriesPoint[] {
  if (points.length <= max) return [...points];
  const size = Math.ceil(points.length / max);
  const out: SeriesPoint[] = [];
  for (let i = 0; i < points.length; i += size) {
    const bucket = points.slice(i, i + size);
    const values = bucket.map((p) => p.value).filter((v): v is number => v !== null);
    out.push({ at: bucket[0]!.at, value: values.length ? Math.max(...values) : null });
  }
  return out;
}

/**
 * A series built pass by pass in bounded memory, for a window of any length: at most 2 × MAX_POINTS
 * points, each the first time and the maximum value of the consecutive passes it stands for (as
 * downsample keeps them); when full, neighbouring points merge in pairs and each stands for twice as many.
 */
export class DownsampledSeries {
  private points: SeriesPoint[] = [];
  /** Passes each point stands for (the last may stand for fewer so far). */
  private perPoint = 1;
  private passes = 0;

  add(point: SeriesPoint): void {
    const last = this.points.at(-1);
    if (this.passes++ % this.perPoint === 0 || !last) this.points.push({ ...point });
    else last.value = maxOf(last.value, point.value);
    if (this.points.length <= 2 * MAX_POINTS) return;
    const merged: SeriesPoint[] = [];
    for (let i = 0; i < this.points.length; i += 2) {
      const [a, b] = [this.points[i]!, this.points[i + 1]];
      merged.push({ at: a.at, value: b ? maxOf(a.value, b.value) : a.value });
    }
    this.points = merged;
    this.perPoint *= 2;
  }

  series(name: string): ChartSeries {
    return { name, points: this.points.map((p) => ({ ...p })), passes: this.passes };
  }
}

function maxOf(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}

function display(chart: TimeChart, value: number): number {
  const v = chart.unit === 'fraction' ? value * 100 : value;
  return Number(v.toFixed(chart.unit === 'fraction' ? 3 : 1));
}

function formatValue(chart: TimeChart, value: number): string {
  return chart.unit === 'fraction' ? `${Number((value * 100).toFixed(3))}%` : formatDuration(value);
}

/** Mermaid strings: no double quotes, no line breaks. */
function quoted(text: string): string {
  return `"${text.replace(/["\n\r]/g, "'")}"`;
}

/**
 * The chart as Mermaid `xychart-beta`: one line per series (first the measured ones, then one flat
 * line per threshold) and a bar at the verdict moment; the x axis is time since the window began.
 * A pass without a measurement repeats the previous value (xychart has no gaps); the legend says so.
 */
export function mermaidXyChart(chart: TimeChart): string {
  const merged = mergeSeries(chart.series);
  const times = merged.times;
  const series = merged.values.map((values) => carryForward(values).map((v) => display(chart, v)));
  const thresholds = chart.thresholds.map((t) => display(chart, t.value));
  const top = niceCeiling(Math.max(0, ...series.flat(), ...thresholds) * 1.1 || 1);
  const verdictIndex = chart.verdict ? indexAt(times, chart.verdict.at) : -1;
  const labels = times.map((t, i) =>
    i === verdictIndex ? `${chart.verdict!.label} +${formatDuration(t)}` : `+${formatDuration(t)}`,
  );
  const palette = [
    ...(verdictIndex >= 0 ? [MARKER_COLOUR] : []),
    ...chart.series.map((_, i) => SERIES_COLOURS[i % 2]!),
    ...chart.thresholds.map((_, i) => SERIES_COLOURS[2 + (i % 4)]!),
  ];
  const unit = chart.unit === 'fraction' ? '%' : 'ms';
  return [
    `%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "${palette.join(', ')}"}}}}%%`,
    'xychart-beta',
    `  title ${quoted(chart.title)}`,
    `  x-axis ${quoted('time since the window began')} [${labels.map(quoted).join(', ')}]`,
    `  y-axis ${quoted(`${chart.title} (${unit})`)} 0 --> ${top}`,
    ...(verdictIndex >= 0 ? [`  bar [${times.map((_, i) => (i === verdictIndex ? top : 0)).join(', ')}]`] : []),
    ...series.map((values) => `  line [${values.join(', ')}]`),
    ...thresholds.map((value) => `  line [${times.map(() => value).join(', ')}]`),
  ].join('\n');
}

/** What each line and bar of mermaidXyChart is (xychart-beta draws no legend of its own). */
export function chartLegend(chart: TimeChart): string {
  const names = [
    ...chart.series.map((s, i) => `${SERIES_COLOURS[i % 2] === '#d62728' ? 'red' : 'blue'}: ${s.name}`),
    ...chart.thresholds.map(
      (t, i) => `${['grey', 'orange', 'green', 'purple'][i % 4]}: ${t.name} ${formatValue(chart, t.value)}`,
    ),
    ...(chart.verdict
      ? [`light purple bar: verdict ${chart.verdict.label} at +${formatDuration(chart.verdict.at)}`]
      : []),
  ];
  const total = Math.max(0, ...chart.series.map((s) => s.passes ?? s.points.length));
  const shown = mergeSeries(chart.series).times.length;
  const sampled = shown < total ? `; ${total} passes shown as ${shown} points, each the maximum of its passes` : '';
  return `Lines — ${names.join(' · ')}${sampled}; a pass without data repeats the previous value.`;
}

/** A Mermaid `gantt` of steps in order, each as long as it took (ms since the first step began). */
export function mermaidGantt(
  title: string,
  steps: readonly { name: string; status: string; durationMs?: number }[],
): string {
  const lines = ['gantt', `  title ${title.replace(/[\n:;#]/g, ' ')}`, '  dateFormat x', '  axisFormat %M:%S'];
  let at = 0;
  steps.forEach((step, i) => {
    if (step.durationMs === undefined || step.status === 'skipped' || step.status === 'not-run') return;
    const tag = step.status === 'failed' ? 'crit, ' : step.status === 'done' ? 'done, ' : '';
    const name = `${step.name} (${formatDuration(step.durationMs)})`.replace(/[\n:;#]/g, ' ');
    // at least 1 ms, so an instant step is still drawn
    lines.push(`  ${name} :${tag}s${i}, ${at}, ${at + Math.max(1, Math.round(step.durationMs))}`);
    at += Math.max(1, Math.round(step.durationMs));
  });
  return lines.join('\n');
}

const BLOCKS = '▁▂▃▄▅▆▇█';

/** `▁▁▂▇█▇ min 0.1% max 8.2%` — the series on one line, down-sampled keeping maxima. */
export function sparkline(chart: TimeChart, series: ChartSeries, width = SPARK_WIDTH): string {
  const points = downsample(series.points, width);
  const values = points.map((p) => p.value).filter((v): v is number => v !== null);
  if (values.length === 0) return `${series.name}: no data`;
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min;
  const spark = points
    .map((p) =>
      p.value === null ? ' ' : BLOCKS[span === 0 ? 0 : Math.round(((p.value - min) / span) * (BLOCKS.length - 1))],
    )
    .join('');
  const limits = chart.thresholds.map((t) => `${t.name} ${formatValue(chart, t.value)}`).join(', ');
  return `${chart.title}, ${series.name}: ${spark} min ${formatValue(chart, min)} max ${formatValue(chart, max)}${limits ? ` (${limits})` : ''}`;
}

/** The series on one time axis (the union of their down-sampled times); a missing value is null. */
function mergeSeries(series: readonly ChartSeries[]): { times: number[]; values: (number | null)[][] } {
  const longest = Math.max(0, ...series.map((s) => s.points.length));
  const sampled = series.map((s) => downsample(s.points, longest > MAX_POINTS ? MAX_POINTS : longest));
  const times = [...new Set(sampled.flatMap((s) => s.map((p) => p.at)))].sort((a, b) => a - b).slice(0, MAX_POINTS);
  return {
    times,
    values: sampled.map((s) => {
      const by = new Map(s.map((p) => [p.at, p.value]));
      return times.map((t) => by.get(t) ?? null);
    }),
  };
}

function carryForward(values: readonly (number | null)[]): number[] {
  let last = 0;
  return values.map((v) => (v === null ? last : (last = v)));
}

/** The last point at or before `at` (the verdict's pass, or the bucket holding it). */
function indexAt(times: readonly number[], at: number): number {
  let index = 0;
  times.forEach((t, i) => {
    if (t <= at) index = i;
  });
  return times.length ? index : -1;
}

function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((m) => m * magnitude >= value)! * magnitude;
  return Number(step.toPrecision(6));
}
