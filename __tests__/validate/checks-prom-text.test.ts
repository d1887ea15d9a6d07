import { describe, expect, test } from '@jest/globals';
import {
  ExpositionError,
  counterIncreases,
  histogramQuantile,
  parseExposition,
  rateBetween,
  type Scrape,
} from '@veloz/shared/prom/text';
import { measureSpans } from '../../actions/validate/src/checks/metrics';
import { applySelector } from '../../actions/validate/src/checks/promql';
import { compare } from '../../actions/validate/src/checks/smoke';
import { lookup } from '@veloz/shared/endpoint-checks/common';

const T0 = Date.parse('2026-02-23T12:00:00Z');

/** An engine-like exposition: requests by code and route, and a latency histogram with buckets 0.05/0.1/0.5/1/+Inf. */
function engineText(r: {
  ok: number;
  errors: number;
  buckets: [number, number, number, number, number];
  other?: [number, number, number, number, number];
}): string {
  const [b1, b2, b3, b4, inf] = r.buckets;
  const lines = [
    '# HELP veloz_http_requests_total HTTP requests handled by the VeloZ API, by status code and route.',
    '# TYPE veloz_http_requests_total counter',
    `veloz_http_requests_total{code="200",route="/api/market"} ${r.ok}`,
    `veloz_http_requests_total{code="500",route="/api/market"} ${r.errors}`,
    `veloz_http_requests_total{code="422",route="/api/order"} 7`,
    '# HELP veloz_http_request_duration_seconds Latency of VeloZ API requests.',
    '# TYPE veloz_http_request_duration_seconds histogram',
    `veloz_http_request_duration_seconds_bucket{route="/api/market",le="0.05"} ${b1}`,
    `veloz_http_request_duration_seconds_bucket{route="/api/market",le="0.1"} ${b2}`,
    `veloz_http_request_duration_seconds_bucket{route="/api/market",le="0.5"} ${b3}`,
    `veloz_http_request_duration_seconds_bucket{route="/api/market",le="1"} ${b4}`,
    `veloz_http_request_duration_seconds_bucket{route="/api/market",le="+Inf"} ${inf}`,
    `veloz_http_request_duration_seconds_sum{route="/api/market"} 12.5`,
    `veloz_http_request_duration_seconds_count{route="/api/market"} ${inf}`,
  ];
  if (r.other) {
    const [o1, o2, o3, o4, oinf] = r.other;
    lines.push(
      `veloz_http_request_duration_seconds_bucket{route="/api/order",le="0.05"} ${o1}`,
      `veloz_http_request_duration_seconds_bucket{route="/api/order",le="0.1"} ${o2}`,
      `veloz_http_request_duration_seconds_bucket{route="/api/order",le="0.5"} ${o3}`,
      `veloz_http_request_duration_seconds_bucket{route="/api/order",le="1"} ${o4}`,
      `veloz_http_request_duration_seconds_bucket{route="/api/order",le="+Inf"} ${oinf}`,
    );
  }
  return lines.join('\n') + '\n';
}

const scrape = (at: number, text: string): Scrape => ({ at, exposition: parseExposition(text) });

describe('parseExposition', () => {
  test('reads HELP, TYPE, labels with escapes, special values, timestamps and histogram families', () => {
    const text = [
      '# HELP veloz_build_info Engine build; a "quoted" \\\\ back\\nslash.',
      '# TYPE veloz_build_info gauge',
      'veloz_build_info{version="1.5.0",note="say \\"hi\\"\\\\n\\nend",} 1',
      '# a plain comment',
      '',
      'untyped_metric 3.5e2 1700000000000',
      'weird_values{k="a"} NaN',
      'weird_values{k="b"} +Inf',
      'weird_values{k="c"} -Inf',
      '# TYPE lat histogram',
      'lat_bucket{le="0.1"} 1',
      'lat_bucket{le="+Inf"} 2',
      'lat_sum 0.3',
      'lat_count 2',
      'windows_line_end 4\r',
    ].join('\n');
    const e = parseExposition(text);
    const info = e.families.get('veloz_build_info');
    expect(info?.type).toBe('gauge');
    expect(info?.help).toBe('Engine build; a "quoted" \\ back\nslash.');
    expect(info?.samples[0]?.labels).toEqual({ version: '1.5.0', note: 'say "hi"\\n\nend' });
    const untyped = e.families.get('untyped_metric');
    expect(untyped?.type).toBe('untyped');
    expect(untyped?.samples[0]).toMatchObject({ value: 350, timestampMs: 1700000000000 });
    const weird = e.families.get('weird_values')?.samples.map((s) => s.value);
    expect(weird?.[0]).toBeNaN();
    expect(weird?.slice(1)).toEqual([Infinity, -Infinity]);
    const lat = e.families.get('lat');
    expect(lat?.type).toBe('histogram');
    expect(lat?.samples.map((s) => s.name)).toEqual(['lat_bucket', 'lat_bucket', 'lat_sum', 'lat_count']);
    expect(e.families.has('lat_bucket')).toBe(false);
    expect(e.families.get('windows_line_end')?.samples[0]?.value).toBe(4);
    expect(e.samples).toHaveLength(10);
  });

  test.each([
    ['a value that is not a number', 'm{a="b"} twelve', /line 1: "twelve" is not a number/],
    ['an unterminated label value', 'm{a="b} 1', /line 1: unterminated value of label a/],
    ['a missing value', 'ok 1\nm{a="b"}', /line 2: expected "value \[timestamp\]"/],
    ['an unknown TYPE', '# TYPE m thing', /unknown type "thing"/],
    ['a bad label name', 'm{1a="b"} 1', /expected a label name/],
    ['HTML', '<html><body>502 Bad Gateway</body></html>', /line 1: expected a metric name/],
  ])('refuses %s with the line number', (_what, text, message) => {
    expect(() => parseExposition(text)).toThrow(ExpositionError);
    expect(() => parseExposition(text)).toThrow(message);
  });
});

describe('rateBetween', () => {
  test('error rate is the 5xx share of the increase; p99 interpolates in the bucket increases', () => {
    const prev = scrape(T0, engineText({ ok: 1000, errors: 10, buckets: [900, 1000, 1005, 1010, 1010] }));
    // +940 ok, +60 errors = 1000 requests; latency increases: 950 ≤ 0.05, 30 in (0.05,0.1], 20 in (0.1,0.5].
    const next = scrape(T0 + 30_000, engineText({ ok: 1940, errors: 70, buckets: [1850, 1980, 2005, 2010, 2010] }));
    const w = rateBetween(prev, next);
    expect(w.seconds).toBe(30);
    expect(w.requests).toBe(1000);
    expect(w.errors).toBe(60);
    expect(w.errorRate).toBeCloseTo(0.06, 10);
    expect(w.observations).toBe(1000);
    // rank 990: 980 below 0.1, 20 in (0.1, 0.5] -> 0.1 + 0.4 * (10 / 20) = 0.3 s.
    expect(w.p99Ms).toBeCloseTo(300, 6);
    expect(w.resets).toEqual([]);
  });

  test('sums buckets over series (sum by le), like the default PromQL', () => {
    const prev = scrape(T0, engineText({ ok: 0, errors: 0, buckets: [0, 0, 0, 0, 0], other: [0, 0, 0, 0, 0] }));
    const next = scrape(
      T0 + 10_000,
      engineText({ ok: 100, errors: 0, buckets: [99, 99, 99, 99, 99], other: [0, 0, 0, 1, 1] }),
    );
    // 100 observations, rank 99 falls exactly at the top of the 0.05 bucket.
    expect(rateBetween(prev, next).p99Ms).toBeCloseTo(50, 6);
  });

  test('a counter reset (pod restart) counts the new values from zero, never negative', () => {
    const prev = scrape(T0, engineText({ ok: 50_000, errors: 100, buckets: [49_000, 50_000, 50_100, 50_100, 50_100] }));
    // Restarted: counters start again; since the restart 190 ok and 10 errors, all latency ≤ 0.05 but 10 in (0.5, 1].
    const next = scrape(T0 + 30_000, engineText({ ok: 190, errors: 10, buckets: [190, 190, 190, 200, 200] }));
    const w = rateBetween(prev, next);
    expect(w.requests).toBe(200);
    expect(w.errors).toBe(10);
    expect(w.errorRate).toBeCloseTo(0.05, 10);
    expect(w.observations).toBe(200);
    // rank 198: 190 below 0.5 s, 10 in (0.5, 1] -> 0.5 + 0.5 * 8/10 = 0.9 s.
    expect(w.p99Ms).toBeCloseTo(900, 6);
    expect(w.resets).toEqual(
      expect.arrayContaining([
        'veloz_http_requests_total{code="200",route="/api/market"}',
        'veloz_http_request_duration_seconds_bucket{route="/api/market"}',
      ]),
    );
  });

  test('no requests between scrapes is no data, not 0%', () => {
    const text = engineText({ ok: 10, errors: 0, buckets: [10, 10, 10, 10, 10] });
    const w = rateBetween(scrape(T0, text), scrape(T0 + 1000, text));
    expect(w.requests).toBe(0);
    expect(w.errorRate).toBeUndefined();
    expect(w.p99Ms).toBeUndefined();
  });

  test('a series that appears between scrapes counts from zero', () => {
    const prev = parseExposition('c_total{code="200"} 10\n');
    const next = parseExposition('c_total{code="200"} 15\nc_total{code="503"} 2\n');
    expect(counterIncreases(prev, next, 'c_total').map((s) => [s.labels.code, s.increase])).toEqual([
      ['200', 5],
      ['503', 2],
    ]);
  });
});

describe('histogramQuantile', () => {
  test('a rank in the +Inf bucket answers the largest finite bound, as Prometheus does', () => {
    expect(
      histogramQuantile(0.99, [
        { le: 0.1, count: 10 },
        { le: 1, count: 50 },
        { le: Infinity, count: 100 },
      ]),
    ).toBe(1);
  });
  test('undefined without observations or without a +Inf bucket', () => {
    expect(
      histogramQuantile(0.99, [
        { le: 0.1, count: 0 },
        { le: Infinity, count: 0 },
      ]),
    ).toBeUndefined();
    expect(histogramQuantile(0.99, [{ le: 0.1, count: 5 }])).toBeUndefined();
  });
});

describe('applySelector', () => {
  const errorRate =
    'sum(rate(veloz_http_requests_total{code=~"5..",$selector}[5m])) / sum(rate(veloz_http_requests_total{$selector}[5m]))';
  test('puts the matchers in', () => {
    expect(applySelector(errorRate, 'namespace="veloz",pod="veloz-engine-x"')).toBe(
      'sum(rate(veloz_http_requests_total{code=~"5..",namespace="veloz",pod="veloz-engine-x"}[5m])) / ' +
        'sum(rate(veloz_http_requests_total{namespace="veloz",pod="veloz-engine-x"}[5m]))',
    );
  });
  test('an empty selector leaves valid PromQL: no dangling comma, no empty braces', () => {
    expect(applySelector(errorRate, '')).toBe(
      'sum(rate(veloz_http_requests_total{code=~"5.."}[5m])) / sum(rate(veloz_http_requests_total[5m]))',
    );
    expect(applySelector('max(m{ $selector , })', '')).toBe('max(m)');
  });
  test('leaves braces and commas inside quoted label values alone', () => {
    expect(applySelector('m{path=~"/a{1,},",$selector}', '')).toBe('m{path=~"/a{1,},"}');
  });
});

describe('smoke comparators and field lookup', () => {
  test('dotted paths reach into objects and arrays', () => {
    const body = { status: 'ok', quotes: [{ symbol: 'BTCUSDT', price: 50_000 }], orders: [1, 2, 3] };
    expect(lookup(body, 'quotes.0.symbol')).toBe('BTCUSDT');
    expect(lookup(body, 'orders.length')).toBe(3);
    expect(lookup(body, 'quotes.1.symbol')).toBeUndefined();
    expect(lookup(body, 'status.code')).toBeUndefined();
  });
  test.each([
    ['exists', 'ok', undefined, true],
    ['exists', null, undefined, false],
    ['number', 12, undefined, true],
    ['number', '12', undefined, false],
    ['equals', 'ok', 'ok', true],
    ['equals', 42, '42', true],
    ['equals', 'ok', 'OK', false],
    ['not-equals', 'degraded', 'ok', true],
    ['gt', 5, 4, true],
    ['gte', 4, 4, true],
    ['lt', '3', 4, true],
    ['lte', 5, 4, false],
    ['gt', 'abc', 1, false],
    ['contains', 'BTCUSDT', 'BTC', true],
    ['contains', ['a', 'b'], 'b', true],
    ['contains', ['a'], 'c', false],
  ] as const)('%s %j vs %j holds: %s', (comparator, actual, expected, holds) => {
    expect(compare(comparator, actual, expected) === undefined).toBe(holds);
  });
  test('a failure says what was expected and what was found', () => {
    expect(compare('number', '12', undefined)).toBe('expected a number, got "12" (string)');
    expect(compare('gte', undefined, 1)).toBe('is missing; expected ≥ 1');
  });
});

describe('measureSpans', () => {
  /** Scrapes one second apart; `per` = [ok, errors] added in each second. */
  function series(per: [number, number][], slowInLast = 0): Scrape[] {
    let ok = 0;
    let errors = 0;
    const out = [scrape(T0, engineText({ ok, errors, buckets: [0, 0, 0, 0, 0] }))];
    per.forEach(([dOk, dErr], i) => {
      ok += dOk;
      errors += dErr;
      const total = ok + errors;
      const slow = i === per.length - 1 ? slowInLast : 0;
      out.push(
        scrape(T0 + (i + 1) * 1000, engineText({ ok, errors, buckets: [total - slow, total, total, total, total] })),
      );
    });
    return out;
  }

  test('busy traffic: the error rate from the last interval, the p99 from the newest span of 1000 requests', () => {
    const all = series(
      [
        [400, 0],
        [400, 0],
        [360, 40],
      ],
      30,
    );
    const spans = measureSpans(all.slice(0, -1), all.at(-1)!, {})!;
    // The breach shows at full strength in the error rate at once, instead of diluted over 3 s.
    expect([spans.errors.seconds, spans.errors.requests, spans.errors.errorRate]).toEqual([1, 400, 0.1]);
    expect([spans.latency.seconds, spans.latency.requests]).toEqual([3, 1200]);
    expect(spans.latency.errorRate).toBeCloseTo(40 / 1200, 10);
    expect(spans.latency.p99Ms).toBeGreaterThan(50);
  });

  test('thin traffic reaches back to the oldest scrape kept; no earlier scrape, no span', () => {
    const all = series([
      [50, 0],
      [50, 0],
      [45, 5],
    ]);
    const spans = measureSpans(all.slice(0, -1), all.at(-1)!, {})!;
    expect([spans.errors.seconds, spans.errors.requests]).toEqual([3, 150]);
    expect([spans.latency.seconds, spans.latency.requests]).toEqual([3, 150]);
    expect(measureSpans([], all.at(-1)!, {})).toBeUndefined();
  });

  test('the request counts that make a span trustworthy can be set', () => {
    const all = series([
      [400, 0],
      [400, 0],
      [360, 40],
    ]);
    const spans = measureSpans(all.slice(0, -1), all.at(-1)!, { minErrorRequests: 800, minRequests: 400 })!;
    expect(spans.errors.seconds).toBe(2);
    expect(spans.latency.seconds).toBe(1);
  });
});
