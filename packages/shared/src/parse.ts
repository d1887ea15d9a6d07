/**
 * Pure text -> value parsers for action inputs. Each throws ParseError carrying what was expected;
 * the input reader turns that into an error that also names the input and shows the value.
 */
export class ParseError extends Error {
  constructor(readonly expected: string) {
    super(expected);
    this.name = 'ParseError';
  }
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_EXPECTED = 'a duration such as 500ms, 30s, 5m, 1h or 1h30m';

/** `500ms`, `30s`, `5m`, `1h`, `1h30m`, `0` -> milliseconds. A bare number other than 0 is ambiguous. */
export function parseDuration(text: string): number {
  const value = text.trim();
  if (value === '0') return 0;
  const parts = value.match(/\d+(?:\.\d+)?(?:ms|s|m|h|d)/g);
  if (!parts || parts.join('') !== value) throw new ParseError(DURATION_EXPECTED);
  let total = 0;
  for (const part of parts) {
    const [, amount, unit] = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(part) ?? [];
    total += Number(amount) * (DURATION_UNITS[unit ?? ''] ?? NaN);
  }
  if (!Number.isFinite(total)) throw new ParseError(DURATION_EXPECTED);
  return Math.round(total);
}

/** Renders milliseconds the way a person writes them: 300000 -> "5m", 1500 -> "1.5s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${trimNumber(ms / 1000)}s`;
  if (ms < 3_600_000) {
    const minutes = Math.floor(ms / 60_000);
    const seconds = Math.round((ms % 60_000) / 1000);
    return seconds ? `${minutes}m${seconds}s` : `${minutes}m`;
  }
  if (ms < 48 * 3_600_000) {
    const hours = Math.floor(ms / 3_600_000);
    const minutes = Math.round((ms % 3_600_000) / 60_000);
    return minutes ? `${hours}h${minutes}m` : `${hours}h`;
  }
  const days = Math.floor(ms / 86_400_000);
  const hours = Math.round((ms % 86_400_000) / 3_600_000);
  return hours ? `${days}d${hours}h` : `${days}d`;
}

/** `5%` or `0.05` -> 0.05. A bare number above 1 is refused: "5" could mean 5% or 500%. */
export function parsePercentage(text: string): number {
  const value = text.trim();
  const percent = /^(\d+(?:\.\d+)?)\s*%$/.exec(value);
  const expected = 'a percentage such as 5% or a fraction such as 0.05';
  if (percent) {
    const n = Number(percent[1]) / 100;
    if (n > 1) throw new ParseError(`${expected}, at most 100%`);
    return n;
  }
  if (/^\d+(?:\.\d+)?$/.test(value)) {
    const n = Number(value);
    if (n > 1) throw new ParseError(`${expected} (write ${value}% if you meant percent)`);
    return n;
  }
  throw new ParseError(expected);
}

/**
 * A canary's share of traffic, `5%` -> 5: a whole percentage strictly between 0% and 100% (a route
 * weight is an integer, and 0% or 100% is no canary). The `%` is required: "5" could mean 5% or 500%.
 */
export function parseTrafficWeight(text: string): number {
  const expected = 'a whole percentage between 1% and 99%, such as 5%';
  const match = /^(\d+)\s*%$/.exec(text.trim());
  const n = match ? Number(match[1]) : NaN;
  if (!(n > 0 && n < 100)) throw new ParseError(expected);
  return n;
}

export function formatPercentage(fraction: number): string {
  return `${trimNumber(fraction * 100)}%`;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** `1MB` (10^6), `512KiB` (2^10 multiples), `1024` (bytes) -> bytes. */
export function parseByteSize(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text.trim());
  const unit = SIZE_UNITS[(match?.[2] || 'b').toLowerCase()];
  if (!match || unit === undefined) throw new ParseError('a size such as 1MB, 512KiB or 1048576 (bytes)');
  return Math.round(Number(match[1]) * unit);
}

export function formatBytes(bytes: number): string {
  const abs = Math.abs(bytes);
  if (abs < 1e3) return `${bytes} B`;
  if (abs < 1e6) return `${trimNumber(bytes / 1e3)} kB`;
  if (abs < 1e9) return `${trimNumber(bytes / 1e6)} MB`;
  return `${trimNumber(bytes / 1e9)} GB`;
}

export function parseUrl(text: string, protocols: readonly string[] = ['http:', 'https:']): URL {
  const expected = `an absolute URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`;
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new ParseError(expected);
  }
  if (!protocols.includes(url.protocol)) throw new ParseError(expected);
  return url;
}

export function parseJson(text: string, what = 'JSON'): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ParseError(`valid ${what} (${(error as Error).message})`);
  }
}

/** Multiline or comma-separated list; blank entries dropped. */
export function parseList(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** One entry per line, commas kept (Helm `--set a={x,y}` values contain commas). */
export function parseLines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** The toolkit's YAML 1.2 core-schema booleans, as core.getBooleanInput accepts them. */
export function parseBoolean(text: string): boolean {
  const value = text.trim();
  if (['true', 'True', 'TRUE'].includes(value)) return true;
  if (['false', 'False', 'FALSE'].includes(value)) return false;
  throw new ParseError('true or false');
}

export function parseEnum<T extends string>(text: string, allowed: readonly T[]): T {
  const value = text.trim();
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new ParseError(`one of ${allowed.join(', ')}`);
}

export function parseInteger(text: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  const value = text.trim();
  const range =
    min === Number.MIN_SAFE_INTEGER
      ? ''
      : max === Number.MAX_SAFE_INTEGER
        ? ` of at least ${min}`
        : ` from ${min} to ${max}`;
  if (!/^-?\d+$/.test(value)) throw new ParseError(`a whole number${range}`);
  const n = Number(value);
  if (n < min || n > max) throw new ParseError(`a whole number${range}`);
  return n;
}

export interface HostPort {
  host: string;
  port: number;
}

/** `host:port` or `[v6]:port`. */
export function parseHostPort(text: string): HostPort {
  const value = text.trim();
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value);
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65535) throw new ParseError('host:port entries such as 10.0.0.5:26379');
  return { host: match[1] ?? match[2] ?? '', port };
}

/** Kubernetes object names (RFC 1123 label), e.g. namespace, deployment, container. */
export function parseDnsLabel(text: string, maxLength = 63): string {
  const value = text.trim();
  if (value.length > maxLength || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value)) {
    throw new ParseError(
      `a Kubernetes name: lowercase letters, digits and '-', starting and ending with a letter or digit, at most ${maxLength} characters`,
    );
  }
  return value;
}

/** Kubernetes subdomain names (deployments may contain dots). */
export function parseDnsSubdomain(text: string): string {
  const value = text.trim();
  if (value.length > 253 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(value)) {
    throw new ParseError("a Kubernetes name: lowercase letters, digits, '-' and '.', at most 253 characters");
  }
  return value;
}

/** An ISO-8601 time with an explicit zone (Z or ±hh:mm), so "the past" means the same everywhere. */
export function parseIsoTime(text: string): Date {
  const value = text.trim();
  const zoned = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value);
  const time = Date.parse(value);
  if (!zoned || Number.isNaN(time)) throw new ParseError('an ISO-8601 time with a zone, such as 2026-02-23T11:55:00Z');
  return new Date(time);
}

function trimNumber(n: number): string {
  return String(Number(n.toFixed(2)));
}
