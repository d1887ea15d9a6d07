/**
 * Prometheus text exposition (format 0.0.4) and what validation computes from two scrapes of an engine's own
 * /metrics: the error rate and p99 over the interval between them, the way `rate()` and
 * `histogram_quantile()` would. So the rollback decision has real measurements even without a Prometheus.
 */

type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

interface PromSample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
  timestampMs?: number;
}

interface MetricFamily {
  name: string;
  type: MetricType;
  help?: string;
  samples: PromSample[];
}

interface Exposition {
  /** Every sample, in document order. */
  samples: PromSample[];
  /** By family name; histogram `_bucket`/`_sum`/`_count` samples belong to their family. */
  families: Map<string, MetricFamily>;
}

export class ExpositionError extends Error {
  constructor(
    readonly line: number,
    readonly text: string,
    reason: string,
  ) {
    super(`line ${line}: ${reason}: ${text.length > 120 ? `${text.slice(0, 120)}…` : text}`);
    this.name = 'ExpositionError';
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const TYPES: readonly MetricType[] = ['counter', 'gauge', 'histogram', 'summary', 'untyped'];
const SUFFIXES: Record<string, readonly MetricType[]> = {
  _bucket: ['histogram'],
  _sum: ['histogram', 'summary'],
  _count: ['histogram', 'summary'],
  _created: ['counter', 'histogram', 'summary'],
  _total: ['counter'],
};

export function parseExposition(text: string): Exposition {
  const samples: PromSample[] = [];
  const families = new Map<string, MetricFamily>();
  const family = (name: string): MetricFamily => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: 'untyped', samples: [] }));
    return f;
  };

  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    const lineNo = index + 1;
    if (line.trim() === '') return;
    if (line.trimStart().startsWith('#')) {
      const m = /^\s*#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (!m) return; // an ordinary comment
      const [, kind, name = '', rest = ''] = m;
      if (!NAME.test(name) || NAME.exec(name)?.[0] !== name) throw new ExpositionError(lineNo, line, 'bad metric name');
      if (kind === 'HELP') family(name).help = rest.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
      else {
        const type = rest.trim() as MetricType;
        if (!TYPES.includes(type)) throw new ExpositionError(lineNo, line, `unknown type "${rest.trim()}"`);
        family(name).type = type;
      }
      return;
    }
    const sample = parseSample(line, lineNo);
    samples.push(sample);
    family(familyOf(sample.name, families)).samples.push(sample);
  });
  return { samples, families };
}

/** `x_bucket` belongs to histogram `x` when `x` was declared a histogram; otherwise a sample is its own family. */
function familyOf(name: string, families: Map<string, MetricFamily>): string {
  if (families.has(name)) return name;
  for (const [suffix, types] of Object.entries(SUFFIXES)) {
    if (!name.endsWith(suffix)) continue;
    const base = families.get(name.slice(0, -suffix.length));
    if (base && types.includes(base.type)) return base.name;
  }
  return name;
}

function parseSample(line: string, lineNo: number): PromSample {
  let rest = line.trimStart();
  const name = NAME.exec(rest)?.[0];
  if (!name) throw new ExpositionError(lineNo, line, 'expected a metric name');
  rest = rest.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    for (;;) {
      rest = rest.trimStart();
      if (rest.startsWith('}')) {
        rest = rest.slice(1);
        break;
      }
      const label = LABEL_NAME.exec(rest)?.[0];
      if (!label) throw new ExpositionError(lineNo, line, 'expected a label name');
      rest = rest.slice(label.length).trimStart();
      if (!rest.startsWith('="') && !/^=\s*"/.test(rest))
        throw new ExpositionError(lineNo, line, `expected ="…" after ${label}`);
      rest = rest.slice(rest.indexOf('"') + 1);
      let value = '';
      let i = 0;
      for (; i < rest.length && rest[i] !== '"'; i++) {
        if (rest[i] === '\\') {
          const next = rest[++i];
          value += next === 'n' ? '\n' : (next ?? '');
        } else value += rest[i];
      }
      if (i >= rest.length) throw new ExpositionError(lineNo, line, `unterminated value of label ${label}`);
      if (label in labels) throw new ExpositionError(lineNo, line, `duplicate label ${label}`);
      labels[label] = value;
      rest = rest.slice(i + 1).trimStart();
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (!rest.startsWith('}')) throw new ExpositionError(lineNo, line, 'expected , or } after a label');
    }
  }
  const fields = rest.trim().split(/\s+/);
  if (rest !== '' && !/^\s/.test(rest)) throw new ExpositionError(lineNo, line, 'expected a space before the value');
  const [valueText, timestampText, extra] = fields;
  if (!valueText || extra !== undefined) throw new ExpositionError(lineNo, line, 'expected "value [timestamp]"');
  const value = parseValue(valueText);
  if (value === undefined) throw new ExpositionError(lineNo, line, `"${valueText}" is not a number`);
  const sample: PromSample = { name, labels, value };
  if (timestampText !== undefined) {
    if (!/^-?\d+$/.test(timestampText)) throw new ExpositionError(lineNo, line, 'the timestamp must be an integer');
    sample.timestampMs = Number(timestampText);
  }
  return sample;
}

export function parseValue(text: string): number | undefined {
  const t = text.toLowerCase();
  if (t === 'nan') return NaN;
  if (t === '+inf' || t === 'inf') return Infinity;
  if (t === '-inf') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(t)) return undefined;
  return Number(t);
}

/** `name{a="1",b="2"}` with labels sorted: identifies a series across scrapes. */
function seriesKey(name: string, labels: Readonly<Record<string, string>>, omit?: string): string {
  const parts = Object.keys(labels)
    .filter((k) => k !== omit)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`);
  return `${name}{${parts.join(',')}}`;
}

/** One scrape and when it was taken (ms since the epoch). */
export interface Scrape {
  at: number;
  exposition: Exposition;
}

interface SeriesIncrease {
  labels: Readonly<Record<string, string>>;
  increase: number;
  /** The counter went down between the scrapes: the process restarted, so the increase is the new value. */
  reset: boolean;
}

/**
 * Increase of every series of counter `name` between two scrapes. A value below the previous one is a
 * reset (pod restart), counted from zero as Prometheus' `increase()` does; a series new in `next` counts
 * from zero too. Series gone from `next` are dropped.
 */
export function counterIncreases(prev: Exposition, next: Exposition, name: string): SeriesIncrease[] {
  const before = new Map<string, number>();
  for (const s of prev.samples) if (s.name === name) before.set(seriesKey(name, s.labels), s.value);
  const out: SeriesIncrease[] = [];
  for (const s of next.samples) {
    if (s.name !== name || !Number.isFinite(s.value)) continue;
    const was = before.get(seriesKey(name, s.labels));
    const reset = was !== undefined && s.value < was;
    out.push({ labels: s.labels, increase: was === undefined || reset ? s.value : s.value - was, reset });
  }
  return out;
}

interface Bucket {
  /** Upper bound in the metric's unit (`+Inf` for the last). */
  le: number;
  /** Cumulative count. */
  count: number;
}

/**
 * `histogram_quantile` over cumulative buckets: find the bucket holding rank q·total and interpolate
 * linearly inside it. A rank in the +Inf bucket returns the largest finite bound (Prometheus does the
 * same). Undefined without observations.
 */
export function histogramQuantile(quantile: number, input: readonly Bucket[]): number | undefined {
  const buckets = input.map((b) => ({ ...b })).sort((a, b) => a.le - b.le);
  const last = buckets[buckets.length - 1];
  if (!last || last.le !== Infinity || buckets.length < 2 || !(quantile >= 0 && quantile <= 1)) return undefined;
  // Increases from separate series can break monotonicity by a little; Prometheus repairs it the same way.
  let max = 0;
  for (const b of buckets) b.count = max = Math.max(max, b.count);
  const total = last.count;
  if (total <= 0) return undefined;
  const rank = quantile * total;
  const i = buckets.findIndex((b) => b.count >= rank);
  const b = buckets[i] as Bucket;
  if (i === buckets.length - 1) return (buckets[i - 1] as Bucket).le;
  if (i === 0 && b.le <= 0) return b.le;
  const start = i === 0 ? 0 : (buckets[i - 1] as Bucket).le;
  const below = i === 0 ? 0 : (buckets[i - 1] as Bucket).count;
  const inBucket = b.count - below;
  return inBucket === 0 ? b.le : start + (b.le - start) * ((rank - below) / inBucket);
}

export interface RateOptions {
  /** Counter of requests by status code; default `veloz_http_requests_total`. */
  requestsMetric?: string;
  /** Histogram of request latency in seconds; default `veloz_http_request_duration_seconds`. */
  durationMetric?: string;
  /** Label carrying the HTTP status; default `code`. */
  codeLabel?: string;
  /** Default 0.99. */
  quantile?: number;
}

export interface RateWindow {
  /** Between the scrapes. */
  seconds: number;
  requests: number;
  /** 5xx answers. */
  errors: number;
  /** errors / requests; undefined without requests (no data is not 0%). */
  errorRate?: number;
  /** Latency observations in the histogram's increase. */
  observations: number;
  /** The quantile (p99 by default) in ms; undefined without observations. */
  p99Ms?: number;
  /** Series that went down between the scrapes (a restart), named like `metric{labels}`. */
  resets: string[];
  /** The latency histogram's increase, cumulative by `le` (seconds), summed over series. */
  buckets: Bucket[];
}

/** What happened between two scrapes of the same target: request count, 5xx share and latency quantile. */
export function rateBetween(prev: Scrape, next: Scrape, opts: RateOptions = {}): RateWindow {
  const requestsMetric = opts.requestsMetric ?? 'veloz_http_requests_total';
  const durationMetric = opts.durationMetric ?? 'veloz_http_request_duration_seconds';
  const codeLabel = opts.codeLabel ?? 'code';
  const resets: string[] = [];

  let requests = 0;
  let errors = 0;
  for (const s of counterIncreases(prev.exposition, next.exposition, requestsMetric)) {
    requests += s.increase;
    if (/^5\d\d$/.test(s.labels[codeLabel] ?? '')) errors += s.increase;
    if (s.reset) resets.push(seriesKey(requestsMetric, s.labels));
  }

  const histogram = histogramIncrease(prev.exposition, next.exposition, `${durationMetric}_bucket`, resets);
  const observations = histogram.find((b) => b.le === Infinity)?.count ?? 0;
  const seconds = histogramQuantile(opts.quantile ?? 0.99, histogram);
  return {
    seconds: (next.at - prev.at) / 1000,
    requests,
    errors,
    errorRate: requests > 0 ? errors / requests : undefined,
    observations,
    p99Ms: seconds === undefined ? undefined : seconds * 1000,
    resets,
    buckets: histogram,
  };
}

/**
 * Bucket increases summed over every series (`sum by (le)`). A histogram is reset as a whole: if any of a
 * series' buckets went down, all its buckets count from zero, so a restart cannot leave a bucket negative.
 */
function histogramIncrease(prev: Exposition, next: Exposition, bucketMetric: string, resets: string[]): Bucket[] {
  const before = new Map<string, number>();
  for (const s of prev.samples) if (s.name === bucketMetric) before.set(seriesKey(bucketMetric, s.labels), s.value);
  const groups = new Map<string, { le: number; now: number; was?: number }[]>();
  for (const s of next.samples) {
    const le = s.name === bucketMetric ? parseValue(s.labels.le ?? '') : undefined;
    if (le === undefined || Number.isNaN(le) || !Number.isFinite(s.value)) continue;
    const group = seriesKey(bucketMetric, s.labels, 'le');
    const list = groups.get(group) ?? [];
    list.push({ le, now: s.value, was: before.get(seriesKey(bucketMetric, s.labels)) });
    groups.set(group, list);
  }
  const sum = new Map<number, number>();
  for (const [group, list] of groups) {
    const reset = list.some((b) => b.was !== undefined && b.now < b.was);
    if (reset) resets.push(group);
    for (const b of list) sum.set(b.le, (sum.get(b.le) ?? 0) + (reset || b.was === undefined ? b.now : b.now - b.was));
  }
  return [...sum].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}
