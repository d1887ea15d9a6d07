/**
 * Runbook §1.3 deployment window: weekdays 10:00-14:00 UTC, avoid Fridays, month-end and freezes.
 * Pure logic over clock.now(); all calendar arithmetic is on civil dates in the policy's time zone.
 */
import { type Check, defineCheck } from '@veloz/shared/checks';

export const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;

/** A local-date range, both ends inclusive, as YYYY-MM-DD in the policy's time zone. */
interface FreezeRange {
  from: string;
  to: string;
  /** Optional words shown in the report, e.g. "year-end freeze". */
  label?: string;
}

export interface WindowPolicy {
  /** Allowed days of week, 0 = Sunday … 6 = Saturday (runbook default Mon-Thu = [1,2,3,4]). */
  days: readonly number[];
  /** Allowed local hours as minutes after midnight, start inclusive, end exclusive (10:00-14:00 = 600..840). */
  startMinute: number;
  endMinute: number;
  /** IANA zone, e.g. "UTC" or "Europe/London". */
  timeZone: string;
  freeze: readonly FreezeRange[];
  /** The last N business days (Mon-Fri) of each month are closed; 0 disables. */
  monthEndDays: number;
}

interface WindowCheckSettings {
  policy: WindowPolicy;
  /** Non-empty opens a closed window, loudly (warn + reason in the report). */
  overrideReason?: string;
  timeoutMs?: number;
}

/** How far ahead we look for an opening before calling a policy impossible. */
const HORIZON_DAYS = 3 * 366;
const DAY_MS = 86_400_000;

// ---- civil dates as day numbers (days since 1970-01-01), zone-free ----

function dayNumber(y: number, m: number, d: number): number {
  return Date.UTC(y, m - 1, d) / DAY_MS;
}
function civil(day: number): { y: number; m: number; d: number; dow: number } {
  const dt = new Date(day * DAY_MS);
  return { y: dt.getUTCFullYear(), m: dt.getUTCMonth() + 1, d: dt.getUTCDate(), dow: dt.getUTCDay() };
}
function isoDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}
function parseIsoDate(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  if (!m) throw new Error(`not a YYYY-MM-DD date: ${text}`);
  const day = dayNumber(Number(m[1]), Number(m[2]), Number(m[3]));
  if (isoDate(day) !== text.trim()) throw new Error(`no such date: ${text}`);
  return day;
}
function hhmm(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

// ---- time zones ----

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/**
 * UTC, the default zone, needs no Intl: the first DateTimeFormat loads ICU's zone data, which costs
 * preflight ~15 ms and ~6 MiB before it can even reject a bad input.
 */
const isUtc = (timeZone: string): boolean => timeZone === 'UTC' || timeZone === 'Etc/UTC';

/** False for a zone Intl does not know. */
export function isValidTimeZone(timeZone: string): boolean {
  if (isUtc(timeZone)) return true;
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

interface LocalTime {
  day: number;
  minute: number;
  second: number;
}
function localTime(instant: number, timeZone: string): LocalTime {
  if (isUtc(timeZone)) {
    const msOfDay = ((instant % DAY_MS) + DAY_MS) % DAY_MS;
    return {
      day: Math.floor(instant / DAY_MS),
      minute: Math.floor(msOfDay / 60_000),
      second: Math.floor((msOfDay % 60_000) / 1000),
    };
  }
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(instant))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    day: dayNumber(parts.year!, parts.month!, parts.day!),
    minute: parts.hour! * 60 + parts.minute!,
    second: parts.second!,
  };
}
/** The instant a local wall-clock time occurs in a zone (first occurrence; DST gaps shift forward). */
function instantOf(day: number, minute: number, timeZone: string): number {
  const wall = day * DAY_MS + minute * 60_000;
  let guess = wall;
  for (let i = 0; i < 3; i++) {
    const lt = localTime(guess, timeZone);
    const seen = lt.day * DAY_MS + lt.minute * 60_000 + lt.second * 1000;
    const diff = wall - seen;
    if (diff === 0) break;
    guess += diff;
  }
  return guess;
}

// ---- the policy ----

function lastBusinessDays(y: number, m: number, n: number): Set<number> {
  const out = new Set<number>();
  if (n <= 0) return out;
  // Day 0 of the next month is the last day of this one.
  let day = Date.UTC(y, m, 0) / DAY_MS;
  while (out.size < n && civil(day).m === m) {
    const dow = civil(day).dow;
    if (dow >= 1 && dow <= 5) out.add(day);
    day--;
  }
  return out;
}

interface DayVerdict {
  open: boolean;
  reasons: string[];
}

function judgeDay(
  policy: WindowPolicy,
  day: number,
  freeze: { from: number; to: number; label: string }[],
): DayVerdict {
  const reasons: string[] = [];
  const { y, m, dow } = civil(day);
  if (!policy.days.includes(dow))
    reasons.push(`${DAY_NAMES[dow]} is not an allowed day (${describeDays(policy.days)})`);
  for (const f of freeze) {
    if (day >= f.from && day <= f.to) reasons.push(`change freeze ${f.label}`);
  }
  if (lastBusinessDays(y, m, policy.monthEndDays).has(day)) {
    reasons.push(
      policy.monthEndDays === 1
        ? 'last business day of the month'
        : `one of the last ${policy.monthEndDays} business days of the month`,
    );
  }
  return { open: reasons.length === 0, reasons };
}

function compileFreeze(policy: WindowPolicy): { from: number; to: number; label: string }[] {
  return policy.freeze.map((f) => {
    const from = parseIsoDate(f.from);
    const to = parseIsoDate(f.to);
    const span = f.from === f.to ? f.from : `${f.from}..${f.to}`;
    return { from, to, label: f.label ? `${span} (${f.label})` : span };
  });
}

function describeDays(days: readonly number[]): string {
  const sorted = [...new Set(days)].sort((a, b) => a - b);
  // Collapse consecutive runs: [1,2,3,4] -> Mon-Thu.
  const runs: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    runs.push(
      j - i >= 2
        ? `${DAY_NAMES[sorted[i]!]}-${DAY_NAMES[sorted[j]!]}`
        : sorted
            .slice(i, j + 1)
            .map((d) => DAY_NAMES[d])
            .join(','),
    );
    i = j + 1;
  }
  return runs.join(',') || 'none';
}

function describePolicy(policy: WindowPolicy): string {
  const parts = [
    `${describeDays(policy.days)} ${hhmm(policy.startMinute)}-${hhmm(policy.endMinute)} ${policy.timeZone}`,
  ];
  if (policy.monthEndDays > 0) parts.push(`month-end ${policy.monthEndDays}d closed`);
  if (policy.freeze.length > 0) parts.push(`${policy.freeze.length} freeze range(s)`);
  return parts.join('; ');
}

interface WindowEvaluation {
  open: boolean;
  /** Local time in the policy's zone, e.g. "Fri 2025-03-07 11:30 UTC". */
  local: string;
  /** Why it is closed (empty when open). */
  reasons: string[];
  /** When the window next opens (now, if open); null if not within the horizon. */
  nextOpen: number | null;
  /** Local rendering of nextOpen. */
  nextOpenLocal?: string;
}

export function evaluateWindow(policy: WindowPolicy, now: number): WindowEvaluation {
  const freeze = compileFreeze(policy);
  const lt = localTime(now, policy.timeZone);
  const local = `${DAY_NAMES[civil(lt.day).dow]} ${isoDate(lt.day)} ${hhmm(lt.minute)} ${policy.timeZone}`;
  const today = judgeDay(policy, lt.day, freeze);
  const reasons = [...today.reasons];
  if (lt.minute < policy.startMinute || lt.minute >= policy.endMinute) {
    reasons.push(`${hhmm(lt.minute)} is outside ${hhmm(policy.startMinute)}-${hhmm(policy.endMinute)}`);
  }
  const open = reasons.length === 0;
  const next = open ? now : nextOpening(policy, lt, freeze);
  const out: WindowEvaluation = { open, local, reasons, nextOpen: next };
  if (next !== null) {
    const nl = localTime(next, policy.timeZone);
    out.nextOpenLocal = `${DAY_NAMES[civil(nl.day).dow]} ${isoDate(nl.day)} ${hhmm(nl.minute)} ${policy.timeZone}`;
  }
  return out;
}

function nextOpening(
  policy: WindowPolicy,
  lt: LocalTime,
  freeze: { from: number; to: number; label: string }[],
): number | null {
  if (policy.startMinute >= policy.endMinute) return null;
  for (let day = lt.day; day <= lt.day + HORIZON_DAYS; day++) {
    if (!judgeDay(policy, day, freeze).open) continue;
    if (day === lt.day) {
      if (lt.minute >= policy.endMinute) continue;
    }
    return instantOf(day, policy.startMinute, policy.timeZone);
  }
  return null;
}

/**
 * Whether the policy opens at least once within three years of `from`. The caller turns `false` into
 * an input error: a window that never opens would block every deploy forever.
 */
export function windowCanOpen(policy: WindowPolicy, from: number): { ok: true } | { ok: false; reason: string } {
  if (!isValidTimeZone(policy.timeZone)) return { ok: false, reason: `unknown time zone ${policy.timeZone}` };
  if (policy.days.length === 0 || policy.days.some((d) => !Number.isInteger(d) || d < 0 || d > 6)) {
    return { ok: false, reason: 'no valid allowed day of week' };
  }
  if (!(policy.startMinute >= 0 && policy.endMinute <= 1440 && policy.startMinute < policy.endMinute)) {
    return {
      ok: false,
      reason: `hours ${hhmm(policy.startMinute)}-${hhmm(policy.endMinute)} are empty (start must be before end)`,
    };
  }
  let freeze;
  try {
    freeze = compileFreeze(policy);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  const bad = freeze.find((f) => f.from > f.to);
  if (bad) return { ok: false, reason: `freeze range ${bad.label} ends before it starts` };
  const start = localTime(from, policy.timeZone).day;
  for (let day = start; day <= start + HORIZON_DAYS; day++) {
    if (judgeDay(policy, day, freeze).open) return { ok: true };
  }
  return {
    ok: false,
    reason: `no day in the next ${HORIZON_DAYS} days is open (${describePolicy(policy)})`,
  };
}

function humanDuration(ms: number): string {
  const minutes = Math.ceil(ms / 60_000);
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  return [d ? `${d}d` : '', h ? `${h}h` : '', m || (!d && !h) ? `${m}m` : ''].filter(Boolean).join(' ');
}

export function windowCheck(settings: WindowCheckSettings): Check {
  return defineCheck('window', 'Deployment window', settings.timeoutMs ?? 5_000, async ({ clock }) => {
    const now = clock.now();
    const ev = evaluateWindow(settings.policy, now);
    const threshold = describePolicy(settings.policy);
    const data: Record<string, unknown> = {
      open: ev.open,
      local: ev.local,
      reasons: ev.reasons,
      nextOpen: ev.nextOpen === null ? null : new Date(ev.nextOpen).toISOString(),
    };
    if (ev.open) {
      const unused = settings.overrideReason ? ' (override-reason given but not needed)' : '';
      return {
        status: 'pass',
        observed: `open: ${ev.local}`,
        threshold,
        detail: `inside the deployment window${unused}`,
        data,
      };
    }
    const why = ev.reasons.join('; ');
    const next =
      ev.nextOpen === null
        ? 'the window does not open within the next three years'
        : `next window opens ${ev.nextOpenLocal} (in ${humanDuration(ev.nextOpen - now)})`;
    const override = settings.overrideReason?.trim();
    if (override) {
      data.override = override;
      return {
        status: 'warn',
        observed: `closed, OVERRIDDEN: ${ev.local}`,
        threshold,
        detail: `Deployment window overridden with reason "${override}". Closed because: ${why}; ${next}.`,
        data,
      };
    }
    return {
      status: 'fail',
      observed: `closed: ${ev.local}`,
      threshold,
      detail: `Closed because: ${why}; ${next}. To deploy anyway, set override-reason (it is recorded in the report).`,
      data,
    };
  });
}
