/** Pieces the endpoint checks share: I/O deadlines, failure wording, JSON field lookup, §3.3 judging. */
import type { CheckOutcome, CheckStatus } from '../checks';
import { redactSecrets } from '../faults';
import { formatDuration } from '../parse';
import { describeEndpointError, endpointSecrets, type HttpEndpoint, type HttpResponse } from '../http/endpoint';

/**
 * The deadline of one request inside a check: a little under the check's own timeout, so the check says
 * which request hung instead of the runner's generic "did not finish".
 */
export function ioTimeout(checkTimeoutMs: number): number {
  return Math.max(1, checkTimeoutMs - Math.min(1000, checkTimeoutMs / 10));
}

export function isOk(status: number): boolean {
  return status >= 200 && status < 300;
}

/** The server's own words from an error body: JSON `message`/`error`, else the start of the text. */
function bodyMessage(res: Pick<HttpResponse, 'body'>, secrets: readonly string[] = []): string {
  let text = res.body.trim();
  try {
    const json = JSON.parse(text) as { message?: unknown; error?: unknown } | null;
    const msg = json?.message ?? json?.error;
    if (typeof msg === 'string' && msg) text = msg;
  } catch {
    // not JSON: use the text
  }
  text = text.replace(/\s+/g, ' ');
  return redactSecrets(text.length > 160 ? `${text.slice(0, 160)}…` : text, secrets);
}

/** "503 Service Unavailable: redis: no reply from sentinel master within 2s" */
export function statusLine(
  res: Pick<HttpResponse, 'status' | 'statusText' | 'body'>,
  secrets: readonly string[] = [],
): string {
  const msg = bodyMessage(res, secrets);
  return `${res.status}${res.statusText ? ` ${res.statusText}` : ''}${msg ? `: ${msg}` : ''}`;
}

/** Unreachable, refused, timed out or cancelled: where, the error code and a hint. */
export function unreachable(
  endpoint: HttpEndpoint,
  path: string,
  err: unknown,
  signal: AbortSignal,
  secrets: readonly string[] = [],
): string {
  return describeEndpointError(endpoint, path, err, signal, secrets);
}

export function secretsOf(endpoint: HttpEndpoint, extra: readonly (string | undefined)[] = []): string[] {
  return [...endpointSecrets(endpoint), ...extra.filter((s): s is string => !!s)];
}

/** A one-line failure outcome with `data.functionalFailure`, what the §4.1 "critical bug" criterion reads. */
export function functionalFailure(check: string, observed: string, detail: string, threshold?: string): CheckOutcome {
  return {
    status: 'fail',
    observed,
    threshold,
    detail,
    data: { functionalFailure: `${check}: ${firstSentence(detail)}` },
  };
}

function firstSentence(text: string): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

/** Dotted path lookup: `quotes.0.price`, `orders.length`. Undefined when any step is missing. */
export function lookup(value: unknown, field: string): unknown {
  let current: unknown = value;
  for (const step of field.split('.')) {
    if (current === null || current === undefined) return undefined;
    if (Array.isArray(current)) {
      if (step === 'length') current = current.length;
      else if (/^\d+$/.test(step)) current = current[Number(step)];
      else return undefined;
    } else if (typeof current === 'object') {
      current = Object.prototype.hasOwnProperty.call(current, step)
        ? (current as Record<string, unknown>)[step]
        : undefined;
    } else if (typeof current === 'string' && step === 'length') current = current.length;
    else return undefined;
  }
  return current;
}

/** A value as a short literal for messages: `"ok"`, `12`, `{"a":1}`, `missing`. */
export function show(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

/** Runbook §3.3 "Expected" and "Alert Threshold" columns (defined in ../runbook). */
export { RUNBOOK_SLO } from '../runbook';

/**
 * §3.3 for a "lower is better" figure: below Expected passes, above the Alert Threshold fails, and what is
 * between (Expected reached, Alert not exceeded) warns.
 */
export function judge(
  value: number,
  expected: number | undefined,
  alert: number,
): Exclude<CheckStatus, 'skip' | 'nodata'> {
  if (value > alert) return 'fail';
  if (expected !== undefined && value >= expected) return 'warn';
  return 'pass';
}

const RANK: Record<CheckStatus, number> = { pass: 0, skip: 0, warn: 1, nodata: 2, fail: 3 };

export function worst(statuses: readonly CheckStatus[]): CheckStatus {
  return statuses.reduce<CheckStatus>((a, b) => (RANK[b] > RANK[a] ? b : a), 'pass');
}

/** Latency for people: "3ms", "1.2s" (formatDuration would write a sub-millisecond answer as "0s"). */
export function formatLatency(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : formatDuration(Math.round(ms));
}
