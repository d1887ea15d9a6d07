import type { InputReader } from './inputs';
import { ParseError, parseDuration } from './parse';

/** How long a mutating action may run and how it holds the release Lease (canary and rollback alike). */
export interface RunLimits {
  timeoutMs: number;
  lockTtlMs: number;
  lockWaitMs: number;
}

/** Below this a Lease renewed at a third of its TTL can lapse on one slow API round trip. */
const MIN_LOCK_TTL_MS = 10_000;

/** Bounds are parse errors, not cross-field checks, so a bad limit is reported with every other bad input. */
export function readRunLimits(reader: InputReader): RunLimits {
  return {
    timeoutMs: reader.must('timeout', (text) => atLeast(text, 1, 'a duration above zero, such as 5m'), {}, NaN),
    lockTtlMs: reader.must('lock-ttl', (text) => atLeast(text, MIN_LOCK_TTL_MS, 'a duration of at least 10s'), {}, NaN),
    lockWaitMs: reader.duration('lock-wait'),
  };
}

function atLeast(text: string, minMs: number, expected: string): number {
  const ms = parseDuration(text);
  if (ms < minMs) throw new ParseError(expected);
  return ms;
}
