import { InputError, type InputReader } from '@veloz/shared/inputs';
import { isValidTimeZone, windowCanOpen, type WindowPolicy } from './checks/window';

export type { WindowPolicy };

const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

export function parseWindowPolicy(reader: InputReader): WindowPolicy {
  const daysText = reader.text('window-days', { required: true });
  const hoursText = reader.text('window-hours', { required: true });
  const timezone = reader.text('window-timezone', { required: true });
  const freezeLines = reader.lines('freeze');
  const monthEndDays = reader.integer('month-end-days', 0, 10);

  const days = parseDays(daysText);
  const [startMinute, endMinute] = parseHours(hoursText);
  if (!isValidTimeZone(timezone)) {
    throw new InputError(
      'window-timezone',
      timezone,
      'an IANA time zone such as UTC, Europe/London or America/New_York',
    );
  }
  const freeze = freezeLines.map((line) => parseFreeze(line, freezeLines.join('\n')));
  const policy: WindowPolicy = { days, startMinute, endMinute, timeZone: timezone, freeze, monthEndDays };
  // A policy that never opens would block every deploy forever: that is a mistake in the inputs.
  const canOpen = windowCanOpen(policy, Date.now());
  if (!canOpen.ok) {
    throw new InputError('window-days', daysText, `a window that can open at some time (${canOpen.reason})`);
  }
  return policy;
}

function parseDays(text: string): number[] {
  const expected = 'days such as Mon-Thu or Mon,Tue,Wed (three-letter English names, ranges allowed)';
  const days = new Set<number>();
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [from, to] = part.split('-').map((d) => DAY_NAMES.indexOf(d.trim().slice(0, 3).toLowerCase()));
    if (from === undefined || from < 0 || (to !== undefined && to < 0) || part.split('-').length > 2) {
      throw new InputError('window-days', text, expected);
    }
    for (let d = from; ; d = (d + 1) % 7) {
      days.add(d);
      if (to === undefined || d === to) break;
    }
  }
  if (days.size === 0) throw new InputError('window-days', text, `${expected}; an empty list can never open`);
  return [...days].sort();
}

function parseHours(text: string): [number, number] {
  const match = /^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/.exec(text.trim());
  const expected = 'a time range HH:MM-HH:MM with the start before the end, e.g. 10:00-14:00 (00:00-24:00 for all day)';
  if (!match) throw new InputError('window-hours', text, expected);
  const start = Number(match[1]) * 60 + Number(match[2]);
  const end = Number(match[3]) * 60 + Number(match[4]);
  if (Number(match[2]) > 59 || Number(match[4]) > 59 || start >= 24 * 60 || end > 24 * 60 || start >= end) {
    throw new InputError('window-hours', text, expected);
  }
  return [start, end];
}

function parseFreeze(line: string, all: string): { from: string; to: string } {
  const [from, to = from] = line.split('..').map((d) => d.trim());
  const valid = (d: string | undefined): d is string =>
    !!d &&
    /^\d{4}-\d{2}-\d{2}$/.test(d) &&
    !Number.isNaN(Date.parse(`${d}T00:00:00Z`)) &&
    new Date(`${d}T00:00:00Z`).toISOString().startsWith(d);
  if (!valid(from) || !valid(to) || from > to) {
    throw new InputError(
      'freeze',
      all,
      `dates YYYY-MM-DD or ranges YYYY-MM-DD..YYYY-MM-DD, one per line (bad line '${line}')`,
    );
  }
  return { from, to };
}
