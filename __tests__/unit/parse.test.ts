import { describe, expect, test } from '@jest/globals';
import {
  ParseError,
  formatBytes,
  formatDuration,
  parseBoolean,
  parseByteSize,
  parseDnsLabel,
  parseDuration,
  parseEnum,
  parseHostPort,
  parseInteger,
  parseIsoTime,
  parseLines,
  parseList,
  parsePercentage,
  parseUrl,
} from '@veloz/shared/parse';

function expectParseError(fn: () => unknown, expected: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ParseError);
  expect((caught as ParseError).expected).toMatch(expected);
}

describe('durations', () => {
  test.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
    ['0', 0],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  test.each(['', '5', 'five minutes', '5 m', '-1s', '5m trailing', '1x'])('%p is refused', (text) => {
    expectParseError(() => parseDuration(text), /duration such as 500ms/);
  });

  test('formats the way people write them', () => {
    expect([0, 250, 1500, 30_000, 300_000, 330_000, 3_600_000, 5_400_000].map(formatDuration)).toEqual([
      '0s',
      '250ms',
      '1.5s',
      '30s',
      '5m',
      '5m30s',
      '1h',
      '1h30m',
    ]);
  });
});

describe('percentages', () => {
  test.each([
    ['5%', 0.05],
    ['0.1%', 0.001],
    ['0.05', 0.05],
    ['1', 1],
    ['100%', 1],
  ])('%s is %d', (text, value) => expect(parsePercentage(text)).toBeCloseTo(value, 10));

  test('a bare number above 1 is ambiguous and refused with a hint', () => {
    expectParseError(() => parsePercentage('5'), /write 5% if you meant percent/);
    expectParseError(() => parsePercentage('150%'), /at most 100%/);
    expectParseError(() => parsePercentage('five'), /percentage such as 5%/);
  });
});

describe('byte sizes', () => {
  test.each([
    ['1MB', 1_000_000],
    ['512KiB', 524_288],
    ['1mib', 1_048_576],
    ['1024', 1024],
    ['1.5 GB', 1_500_000_000],
  ])('%s is %d bytes', (text, bytes) => expect(parseByteSize(text)).toBe(bytes));

  test('unknown units are refused', () => expectParseError(() => parseByteSize('1 MBit'), /1MB, 512KiB/));
  test('formats decimal units', () => expect(formatBytes(1_234_567)).toBe('1.23 MB'));
});

describe('other parsers', () => {
  test('urls keep to their schemes', () => {
    expect(parseUrl('http://127.0.0.1:9090/').host).toBe('127.0.0.1:9090');
    expectParseError(() => parseUrl('ftp://x'), /http:\/\/ or https:\/\//);
    expectParseError(() => parseUrl('prometheus:9090'), /absolute URL/);
  });

  test('lists split on commas and lines, lines only on lines', () => {
    expect(parseList('a, b\nc,,\n')).toEqual(['a', 'b', 'c']);
    expect(parseLines('a=1,2\n\n# comment\n b=3 ')).toEqual(['a=1,2', 'b=3']);
  });

  test('booleans follow the toolkit', () => {
    expect(parseBoolean('TRUE')).toBe(true);
    expect(parseBoolean('False')).toBe(false);
    expectParseError(() => parseBoolean('yes'), /true or false/);
  });

  test('enumerations and ranges', () => {
    expect(parseEnum('helm', ['helm', 'kubectl'])).toBe('helm');
    expectParseError(() => parseEnum('argo', ['helm', 'kubectl']), /one of helm, kubectl/);
    expect(parseInteger('3', 0, 10)).toBe(3);
    expectParseError(() => parseInteger('11', 0, 10), /from 0 to 10/);
    expectParseError(() => parseInteger('2.5', 1), /of at least 1/);
  });

  test('host:port entries, IPv6 included', () => {
    expect(parseHostPort('10.0.0.5:26379')).toEqual({ host: '10.0.0.5', port: 26379 });
    expect(parseHostPort('[::1]:26379')).toEqual({ host: '::1', port: 26379 });
    expectParseError(() => parseHostPort('sentinel'), /host:port/);
    expectParseError(() => parseHostPort('h:70000'), /host:port/);
  });

  test('kubernetes names', () => {
    expect(parseDnsLabel('veloz')).toBe('veloz');
    expectParseError(() => parseDnsLabel('Veloz_Prod'), /lowercase letters/);
  });

  test('ISO times need a zone', () => {
    expect(parseIsoTime('2026-02-23T11:55:00Z').toISOString()).toBe('2026-02-23T11:55:00.000Z');
    expectParseError(() => parseIsoTime('2026-02-23 11:55'), /ISO-8601/);
    expectParseError(() => parseIsoTime('2026-02-23T11:55:00'), /with a zone/);
  });
});
