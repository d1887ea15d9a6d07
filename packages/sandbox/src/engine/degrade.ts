/**
 * The `degrade` behaviour profile: parsing `key=value` pairs from `IMAGE=degrade:after=20s,error-rate=6%,…`
 * into a typed spec, and rendering it back in the same syntax.
 */
import { ParseError, parseDuration as parseSharedDuration } from '@veloz/shared/parse';

/** What a degraded engine does once `afterMs` has passed since the profile was applied. */
export interface DegradeSpec {
  /** Delay before the faults below take effect, counted from engine start or `setBehaviour`. */
  readonly afterMs: number;
  /** `/health` and `/health/startup` answer 503. */
  readonly health?: 'fail';
  /** `/health/ready` answers 503. */
  readonly ready?: 'fail';
  /** Fraction (0..1) of API responses and synthetic requests answered 500. */
  readonly errorRate?: number;
  /** Target 99th-percentile latency of API requests, in milliseconds. */
  readonly p99Ms?: number;
  /** `/api/stream` stays open but sends nothing. */
  readonly sse?: 'silent';
  /** `/ws/market` upgrades are refused with 503. */
  readonly ws?: 'refuse';
  /** `POST /api/order`: `reject` answers 422 (risk check), `error` answers 500. */
  readonly orders?: 'reject' | 'error';
  /** ERROR lines written to the log per second. */
  readonly logErrorsPerSecond?: number;
  /** Growth of the reported resident memory, bytes per second. */
  readonly memoryBytesPerSecond?: number;
  /**
   * `random`: Poisson arrivals, binomial errors, log-normal latency, drawn from `seed`. Unset or `none`:
   * the exact even spread (every window holds the profile's rates to within a request), for exact counts.
   */
  readonly noise?: 'random';
  /** Seed of `noise=random` (implies it): the same seed draws the same requests. */
  readonly seed?: number;
  /** Synthetic requests per second while this profile is set (overrides the engine's default). */
  readonly rps?: number;
  /** Median latency of API requests (ms) under `noise=random`; with `p99=` it shapes a log-normal. */
  readonly medianMs?: number;
  /** Faults come in bursts: on for `onMs` at the start of every `periodMs` (from `after`). */
  readonly burst?: { readonly onMs: number; readonly periodMs: number };
}

/** Histogram's largest finite bucket: a p99 beyond it could not be measured by Prometheus. */
export const MAX_P99_MS = 10_000;
/** Smallest latency bucket: a target p99 must sit above it so the tail can be shaped. */
export const MIN_P99_MS = 5;
const MAX_LOG_ERRORS_PER_SECOND = 1000;

const KEYS = [
  'after',
  'health',
  'ready',
  'error-rate',
  'p99',
  'sse',
  'ws',
  'orders',
  'log-errors',
  'memory',
  'noise',
  'seed',
  'rps',
  'median',
  'burst',
] as const;
const MAX_RPS = 100_000;

type Key = (typeof KEYS)[number];

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};
const PER_UNITS: Record<string, number> = { s: 1, m: 60 };

class DegradeError extends Error {
  constructor(key: string, value: string, expected: string) {
    super(`degrade profile: ${key}=${value} is not valid; expected ${expected}`);
    this.name = 'DegradeError';
  }
}

/** The suite's one duration grammar (`20s`, `1500ms`, `1m30s`, `0`); undefined when refused. */
export function parseDuration(text: string): number | undefined {
  try {
    return parseSharedDuration(text);
  } catch (error) {
    if (error instanceof ParseError) return undefined;
    throw error;
  }
}

/** Renders milliseconds the way the profile syntax writes them (`20s`, `1200ms`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function durationWithin(
  key: string,
  value: string,
  bounds: { minMs: number; maxMs?: number },
  expected: string,
): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < bounds.minMs || ms > (bounds.maxMs ?? Infinity))
    throw new DegradeError(key, value, expected);
  return ms;
}

function parsePercent(key: string, value: string): number {
  const expected = 'a percentage between 0% and 100% such as 6% (or a fraction such as 0.06)';
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(value.trim());
  if (pct) {
    const n = Number(pct[1]);
    if (n > 100) throw new DegradeError(key, value, expected);
    return n / 100;
  }
  if (/^\d+(\.\d+)?$/.test(value.trim())) {
    const n = Number(value);
    // A bare "6" is ambiguous (6% or 600%?); only fractions are accepted without a % sign.
    if (n <= 1) return n;
  }
  throw new DegradeError(key, value, expected);
}

/** `N/s` or `N/m` → events per second. */
function parseRate(key: string, value: string, expected: string): number {
  const m = /^(\d+(?:\.\d+)?)\/(s|m)$/.exec(value.trim());
  if (!m) throw new DegradeError(key, value, expected);
  return Number(m[1]) / (PER_UNITS[m[2] as string] as number);
}

/** `+10MiB/s` → bytes per second. */
function parseMemoryGrowth(key: string, value: string): number {
  const expected = 'a growth rate such as +10MiB/s (units B, KB, MB, GB, KiB, MiB, GiB; per /s or /m)';
  const m = /^\+?(\d+(?:\.\d+)?)([a-z]+)\/(s|m)$/i.exec(value.trim());
  const unit = m ? BYTE_UNITS[(m[2] as string).toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new DegradeError(key, value, expected);
  return (Number(m[1]) * unit) / (PER_UNITS[m[3] as string] as number);
}

/** Faults switched on by a word (`health=fail`); each sets the spec field of the same name. */
const FAULT_SWITCHES = {
  health: ['fail'],
  ready: ['fail'],
  sse: ['silent'],
  ws: ['refuse'],
  orders: ['reject', 'error'],
} as const satisfies { [K in keyof DegradeSpec]?: readonly string[] };

/** Accepts the fault word or `ok` (explicitly healthy, handy when flipping a profile back). */
function parseSwitch<T extends string>(key: string, value: string, faults: readonly T[]): T | undefined {
  const v = value.trim().toLowerCase();
  if (v === 'ok') return undefined;
  if ((faults as readonly string[]).includes(v)) return v as T;
  throw new DegradeError(key, value, `${faults.map((f) => `${key}=${f}`).join(' or ')} (or ${key}=ok)`);
}

/**
 * Turns the profile's `key=value` pairs into a spec. Throws an Error naming the bad key or value and what is
 * expected, so a typo in a profile fails the sandbox start instead of silently running healthy.
 */
export function parseDegrade(params: Record<string, string>): DegradeSpec {
  const spec: MutableSpec = { afterMs: 0 };
  for (const [rawKey, value] of Object.entries(params)) {
    const key = rawKey.trim().toLowerCase();
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new Error(`degrade profile: unknown key "${rawKey}"; expected one of ${KEYS.join(', ')}`);
    }
    if (key in FAULT_SWITCHES) {
      const switchKey = key as keyof typeof FAULT_SWITCHES;
      (spec as Record<string, unknown>)[switchKey] = parseSwitch(key, value, FAULT_SWITCHES[switchKey]);
      continue;
    }
    switch (key as Key) {
      case 'after':
        spec.afterMs = durationWithin(key, value, { minMs: 0 }, 'a duration such as 20s, 1500ms or 1m30s');
        break;
      case 'error-rate':
        spec.errorRate = parsePercent(key, value);
        break;
      case 'p99':
        spec.p99Ms = durationWithin(
          key,
          value,
          { minMs: MIN_P99_MS + 1, maxMs: MAX_P99_MS },
          `a duration above ${MIN_P99_MS}ms and at most ${MAX_P99_MS / 1000}s, such as 1200ms`,
        );
        break;
      case 'log-errors': {
        const expected = `a rate such as 5/s or 30/m (at most ${MAX_LOG_ERRORS_PER_SECOND}/s)`;
        const perSecond = parseRate(key, value, expected);
        if (perSecond > MAX_LOG_ERRORS_PER_SECOND) throw new DegradeError(key, value, expected);
        spec.logErrorsPerSecond = perSecond;
        break;
      }
      case 'memory':
        spec.memoryBytesPerSecond = parseMemoryGrowth(key, value);
        break;
      default:
        parseNoiseKey(spec, key as NoiseKey, value);
    }
  }
  if (spec.seed !== undefined) spec.noise = 'random';
  // Drop keys explicitly set to `ok` so the spec only lists active faults.
  for (const k of Object.keys(spec) as (keyof DegradeSpec)[]) if (spec[k] === undefined) delete spec[k];
  if (spec.medianMs !== undefined && spec.p99Ms !== undefined && spec.medianMs >= spec.p99Ms) {
    throw new DegradeError('median', formatDuration(spec.medianMs), `a duration below p99=${spec.p99Ms}ms`);
  }
  return Object.freeze(spec);
}

type NoiseKey = 'noise' | 'seed' | 'rps' | 'median' | 'burst';
type MutableSpec = { -readonly [K in keyof DegradeSpec]: DegradeSpec[K] };

/** The keys that shape traffic rather than switch a fault: noise, seed, rps, median, burst. */
function parseNoiseKey(spec: MutableSpec, key: NoiseKey, value: string): void {
  const v = value.trim().toLowerCase();
  switch (key) {
    case 'noise':
      if (v !== 'random' && v !== 'none') throw new DegradeError(key, value, 'noise=random or noise=none');
      spec.noise = v === 'random' ? 'random' : undefined;
      return;
    case 'seed':
      if (!/^\d{1,10}$/.test(v) || Number(v) > 0xffffffff) {
        throw new DegradeError(key, value, 'a whole number from 0 to 4294967295');
      }
      spec.seed = Number(v);
      return;
    case 'rps': {
      const m = /^(\d+(?:\.\d+)?)(\/s)?$/.exec(v);
      if (!m || Number(m[1]) > MAX_RPS)
        throw new DegradeError(key, value, `requests per second such as 20 or 20/s (at most ${MAX_RPS})`);
      spec.rps = Number(m[1]);
      return;
    }
    case 'median': {
      const ms = parseDuration(v);
      if (ms === undefined || ms <= 0 || ms >= MAX_P99_MS) {
        throw new DegradeError(key, value, `a duration above 0 and below ${MAX_P99_MS / 1000}s, such as 20ms`);
      }
      spec.medianMs = ms;
      return;
    }
    case 'burst': {
      const [on, period] = v.split('/').map((t) => parseDuration(t));
      if (on === undefined || period === undefined || on <= 0 || period <= on) {
        throw new DegradeError(key, value, 'ON/PERIOD such as 10s/1m: faults on for 10s at the start of every minute');
      }
      spec.burst = { onMs: on, periodMs: period };
    }
  }
}

/** Renders a spec back into profile syntax (`after=20s,error-rate=6%,p99=1200ms`), for logs and the CLI. */
export function formatDegrade(spec: DegradeSpec): string {
  const parts = [`after=${formatDuration(spec.afterMs)}`];
  if (spec.health) parts.push(`health=${spec.health}`);
  if (spec.ready) parts.push(`ready=${spec.ready}`);
  if (spec.errorRate !== undefined) parts.push(`error-rate=${round(spec.errorRate * 100)}%`);
  if (spec.p99Ms !== undefined) parts.push(`p99=${spec.p99Ms}ms`);
  if (spec.sse) parts.push(`sse=${spec.sse}`);
  if (spec.ws) parts.push(`ws=${spec.ws}`);
  if (spec.orders) parts.push(`orders=${spec.orders}`);
  if (spec.logErrorsPerSecond !== undefined) parts.push(`log-errors=${round(spec.logErrorsPerSecond)}/s`);
  if (spec.memoryBytesPerSecond !== undefined) {
    parts.push(`memory=+${round(spec.memoryBytesPerSecond / 1024 ** 2)}MiB/s`);
  }
  if (spec.noise) parts.push(`noise=${spec.noise}`);
  if (spec.seed !== undefined) parts.push(`seed=${spec.seed}`);
  if (spec.rps !== undefined) parts.push(`rps=${round(spec.rps)}`);
  if (spec.medianMs !== undefined) parts.push(`median=${spec.medianMs}ms`);
  if (spec.burst) parts.push(`burst=${formatDuration(spec.burst.onMs)}/${formatDuration(spec.burst.periodMs)}`);
  return parts.join(',');
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
