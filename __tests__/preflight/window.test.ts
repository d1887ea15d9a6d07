import { describe, expect, test } from '@jest/globals';
import { ManualClock } from '@veloz/harness/clock';
import {
  evaluateWindow,
  windowCanOpen,
  windowCheck,
  type WindowPolicy,
} from '../../actions/preflight/src/checks/window';
import { runCheck } from './helpers';

/** preflight/action.yml's defaults: Monday to Thursday, 10:00–14:00 UTC, one month-end day closed. */
const DEFAULT_WINDOW_POLICY: WindowPolicy = Object.freeze({
  days: Object.freeze([1, 2, 3, 4]),
  startMinute: 10 * 60,
  endMinute: 14 * 60,
  timeZone: 'UTC',
  freeze: Object.freeze([]),
  monthEndDays: 1,
});

// 2025-03-03 is a Monday; 2025-03-07 a Friday; 2025-03-31 (Mon) the last business day of March.
const at = (iso: string, policy: Partial<WindowPolicy> = {}, overrideReason?: string) =>
  runCheck(windowCheck({ policy: { ...DEFAULT_WINDOW_POLICY, ...policy }, overrideReason }), {
    clock: new ManualClock(iso),
  });

describe('deployment window (runbook §1.3) at its boundaries, with an injected clock', () => {
  test('09:59 UTC Monday is closed; the next window opens at 10:00 the same day', async () => {
    const o = await at('2025-03-03T09:59:00Z');
    expect(o.status).toBe('fail');
    expect(o.observed).toBe('closed: Mon 2025-03-03 09:59 UTC');
    expect(o.detail).toContain('09:59 is outside 10:00-14:00');
    expect(o.detail).toContain('next window opens Mon 2025-03-03 10:00 UTC (in 1m)');
    expect(o.data?.nextOpen).toBe('2025-03-03T10:00:00.000Z');
  });

  test('10:00 and 13:59 are open, 14:00 is closed (end exclusive)', async () => {
    expect((await at('2025-03-03T10:00:00Z')).status).toBe('pass');
    expect((await at('2025-03-03T13:59:59Z')).status).toBe('pass');
    const closed = await at('2025-03-03T14:00:00Z');
    expect(closed.status).toBe('fail');
    expect(closed.detail).toContain('next window opens Tue 2025-03-04 10:00 UTC (in 20h)');
  });

  test('Friday is closed and Thursday 14:00 rolls over the weekend to Monday', async () => {
    const fri = await at('2025-03-07T11:00:00Z');
    expect(fri.status).toBe('fail');
    expect(fri.detail).toContain('Fri is not an allowed day (Mon-Thu)');
    expect(fri.detail).toContain('next window opens Mon 2025-03-10 10:00 UTC');
    const thu = await at('2025-03-06T14:00:00Z');
    expect(thu.data?.nextOpen).toBe('2025-03-10T10:00:00.000Z');
  });

  test('a freeze range closes its days, both ends inclusive', async () => {
    const freeze = [{ from: '2025-03-04', to: '2025-03-05', label: 'market event' }];
    expect((await at('2025-03-03T11:00:00Z', { freeze })).status).toBe('pass');
    const o = await at('2025-03-05T11:00:00Z', { freeze });
    expect(o.status).toBe('fail');
    expect(o.detail).toContain('change freeze 2025-03-04..2025-03-05 (market event)');
    expect(o.detail).toContain('next window opens Thu 2025-03-06 10:00 UTC');
    expect((await at('2025-03-04T10:00:00Z', { freeze: [{ from: '2025-03-04', to: '2025-03-04' }] })).detail).toContain(
      'change freeze 2025-03-04;',
    );
  });

  test('the last business day of the month is closed (month-end-days 1), N days with month-end-days N', async () => {
    const o = await at('2025-03-31T11:00:00Z');
    expect(o.status).toBe('fail');
    expect(o.detail).toContain('last business day of the month');
    expect(o.detail).toContain('next window opens Tue 2025-04-01 10:00 UTC');
    // July 2025 ends on a Thursday: Wed 30th 14:00 -> Thu 31 closed, Fri closed -> Mon 4 Aug.
    expect((await at('2025-07-30T14:00:00Z')).data?.nextOpen).toBe('2025-08-04T10:00:00.000Z');
    // Last 3 business days of March 2025: Mon 31, Fri 28, Thu 27.
    expect((await at('2025-03-27T11:00:00Z', { monthEndDays: 2 })).status).toBe('pass');
    expect((await at('2025-03-27T11:00:00Z', { monthEndDays: 3 })).detail).toContain(
      'one of the last 3 business days of the month',
    );
    expect((await at('2025-03-31T11:00:00Z', { monthEndDays: 0 })).status).toBe('pass');
  });

  test('an IANA time zone, across a DST change', async () => {
    const ny = { timeZone: 'America/New_York' };
    // Wed 5 March: EST (UTC-5): 14:30Z is 09:30 local.
    const before = await at('2025-03-05T14:30:00Z', ny);
    expect(before.status).toBe('fail');
    expect(before.observed).toBe('closed: Wed 2025-03-05 09:30 America/New_York');
    expect(before.data?.nextOpen).toBe('2025-03-05T15:00:00.000Z');
    // Wed 12 March: EDT (UTC-4) since 9 March: 14:30Z is 10:30 local.
    expect((await at('2025-03-12T14:30:00Z', ny)).status).toBe('pass');
    // Thu 23:30Z is already Friday morning in Tokyo.
    const tokyo = await at('2025-03-06T23:30:00Z', { timeZone: 'Asia/Tokyo' });
    expect(tokyo.detail).toContain('Fri is not an allowed day');
    expect(tokyo.data?.nextOpen).toBe('2025-03-10T01:00:00.000Z');
  });

  test('override-reason opens a closed window as a warning, with the reason in the outcome', async () => {
    const o = await at('2025-03-07T16:00:00Z', {}, 'hotfix INC-4711 approved by CTO');
    expect(o.status).toBe('warn');
    expect(o.observed).toBe('closed, OVERRIDDEN: Fri 2025-03-07 16:00 UTC');
    expect(o.detail).toContain('overridden with reason "hotfix INC-4711 approved by CTO"');
    expect(o.detail).toContain('Fri is not an allowed day');
    expect(o.data?.override).toBe('hotfix INC-4711 approved by CTO');
    // Inside the window the override is not needed, and says so.
    const open = await at('2025-03-03T11:00:00Z', {}, 'not needed');
    expect(open.status).toBe('pass');
    expect(open.detail).toContain('override-reason given but not needed');
  });

  test('evaluateWindow is pure: the same instant, the same answer', () => {
    const now = Date.parse('2025-03-03T12:00:00Z');
    expect(evaluateWindow(DEFAULT_WINDOW_POLICY, now)).toEqual({
      open: true,
      local: 'Mon 2025-03-03 12:00 UTC',
      reasons: [],
      nextOpen: now,
      nextOpenLocal: 'Mon 2025-03-03 12:00 UTC',
    });
  });

  test('UTC without Intl agrees with Intl: the same verdicts as Etc/GMT over two years of instants', () => {
    const policy = { ...DEFAULT_WINDOW_POLICY, freeze: [] };
    const gmt = { ...policy, timeZone: 'Etc/GMT' };
    const start = Date.parse('2024-12-30T00:00:00Z');
    for (let instant = start; instant < start + 730 * 86_400_000; instant += 3_599_999) {
      const ours = evaluateWindow(policy, instant);
      const intl = evaluateWindow(gmt, instant);
      const named = (text?: string) => text?.replace(' UTC', ' Etc/GMT');
      expect({ ...ours, local: named(ours.local), nextOpenLocal: named(ours.nextOpenLocal) }).toEqual(intl);
    }
  });
});

describe('windowCanOpen: impossible policies are input errors', () => {
  const from = Date.parse('2025-03-03T00:00:00Z');
  const p = (over: Partial<WindowPolicy>): WindowPolicy => ({ ...DEFAULT_WINDOW_POLICY, ...over });

  test('the runbook default can open', () => {
    expect(windowCanOpen(DEFAULT_WINDOW_POLICY, from)).toEqual({ ok: true });
  });

  test.each([
    ['no days', p({ days: [] }), /no valid allowed day/],
    ['empty hours', p({ startMinute: 600, endMinute: 600 }), /start must be before end/],
    ['unknown zone', p({ timeZone: 'Mars/Olympus' }), /unknown time zone/],
    ['bad freeze date', p({ freeze: [{ from: '2025-02-30', to: '2025-03-01' }] }), /no such date/],
    ['reversed freeze', p({ freeze: [{ from: '2025-03-10', to: '2025-03-01' }] }), /ends before it starts/],
    ['month-end closes every weekday', p({ monthEndDays: 23 }), /no day in the next/],
    ['frozen for years', p({ freeze: [{ from: '2025-01-01', to: '2035-12-31' }] }), /no day in the next/],
  ])('%s', (_name, policy, reason) => {
    const r = windowCanOpen(policy, from);
    expect(r.ok).toBe(false);
    expect(r.ok === false && r.reason).toMatch(reason);
  });

  test('weekend-only days are unaffected by month-end (business days are Mon-Fri)', () => {
    expect(windowCanOpen(p({ days: [0, 6], monthEndDays: 23 }), from)).toEqual({ ok: true });
  });
});
