import { describeError } from '../checks';
import type { Clock } from '../clock';

/** What an API failure means, read from client-node's ApiException, a watch error or a socket error. */
interface ApiFailure {
  /** HTTP status, or undefined for transport errors (reset, refused). */
  code?: number;
  reason?: string;
  message: string;
  /** Seconds the server asked us to wait (429/503 Retry-After). */
  retryAfterSeconds?: number;
  transient: boolean;
}

// Transport errors are worth retrying (a dropped connection, a restarting API server) unless they
// say the address or the certificate is wrong, which no retry fixes.
const FATAL_TRANSPORT =
  /^(ENOTFOUND|EAI_FAIL|ERR_INVALID_URL|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|ERR_TLS_CERT_ALTNAME_INVALID)/;

export function apiFailure(error: unknown): ApiFailure {
  const e = error as {
    code?: unknown;
    statusCode?: unknown;
    body?: unknown;
    headers?: Record<string, string>;
    cause?: { code?: unknown };
    /** Set by our own errors that no retry can fix (a lost lock). */
    retryable?: unknown;
  };
  const status = typeof e?.code === 'number' ? e.code : typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  const body = parseStatusBody(e?.body);
  const retryAfter = Number(e?.headers?.['retry-after'] ?? body?.details?.retryAfterSeconds);
  const errno = typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : undefined;
  const message = body?.message ?? describeError(error);
  return {
    code: status,
    reason: body?.reason,
    message,
    retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    transient:
      e?.retryable === false
        ? false
        : status === undefined
          ? !FATAL_TRANSPORT.test(errno ?? '')
          : status === 429 || status >= 500,
  };
}

export function isNotFound(error: unknown): boolean {
  return apiFailure(error).code === 404;
}

/** A read whose 404 means "there is none": undefined then; any other failure is thrown as it is. */
export async function unlessNotFound<T>(read: Promise<T>): Promise<T | undefined> {
  try {
    return await read;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export function isForbidden(error: unknown): boolean {
  return apiFailure(error).code === 403;
}

export function isConflict(error: unknown): boolean {
  return apiFailure(error).code === 409;
}

function parseStatusBody(
  body: unknown,
): { message?: string; reason?: string; details?: { retryAfterSeconds?: number } } | undefined {
  if (!body) return undefined;
  if (typeof body === 'object') return body as { message?: string; reason?: string };
  try {
    return JSON.parse(String(body)) as { message?: string; reason?: string };
  } catch {
    return undefined;
  }
}

interface RetryOptions {
  clock: Clock;
  /** Absolute time (clock ms) after which no retry starts. */
  deadline: number;
  signal?: AbortSignal;
  /** Told about each retry, so the log says why we are waiting. */
  onRetry?: (failure: ApiFailure, delayMs: number, attempt: number) => void;
  /** Jitter source (tests pin it); Math.random by default. */
  random?: () => number;
}

/**
 * Exponential backoff with jitter: the n-th retry waits between half and all of min(capMs, baseMs·2^(n-1)),
 * so contenders that failed together (two runs claiming one Lease, every client of a restarted API
 * server) do not retry together again.
 */
export function jitteredBackoff(
  attempt: number,
  random: () => number = Math.random,
  baseMs = 200,
  capMs = 5000,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/**
 * Retries transient API failures (5xx, 429 honouring Retry-After, resets, refused connections) with
 * jittered exponential backoff until the deadline; anything else, or the last failure, is thrown.
 */
export async function withRetry<T>(operation: () => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      const failure = apiFailure(error);
      const backoff = jitteredBackoff(attempt, options.random);
      const delay = failure.retryAfterSeconds !== undefined ? failure.retryAfterSeconds * 1000 : backoff;
      if (!failure.transient || options.signal?.aborted || options.clock.now() + delay > options.deadline) throw error;
      options.onRetry?.(failure, delay, attempt);
      await options.clock.sleep(delay, options.signal);
    }
  }
}
