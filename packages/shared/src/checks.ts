import { systemClock, type Clock } from './clock';
import { formatDuration } from './parse';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip' | 'nodata';

/** What a check found; the report renders these as rows. */
export interface CheckOutcome {
  status: CheckStatus;
  /** The measured value in words a person reads, e.g. "3/3 nodes Ready" or "lag 12 kB". */
  observed?: string;
  /** The limit it was held to, e.g. "< 1MB". */
  threshold?: string;
  /** Why, and what to do next when it is not a pass. */
  detail?: string;
  /** Machine-readable figures for JSON consumers (never secrets). */
  data?: Record<string, unknown>;
}

export interface CheckResult extends CheckOutcome {
  name: string;
  title: string;
  durationMs: number;
}

export interface CheckContext {
  signal: AbortSignal;
  clock: Clock;
}

export interface Check {
  /** Stable identifier used in inputs (`checks: cluster,release`). */
  name: string;
  /** Human heading for the report row. */
  title: string;
  /** Per-check timeout; the runner aborts the signal and reports a failure when it passes. */
  timeoutMs: number;
  run(ctx: CheckContext): Promise<CheckOutcome>;
}

/** A check as a checklist line: its name in `checks:`, its report title, its deadline, and what it does. */
export function defineCheck(name: string, title: string, timeoutMs: number, run: Check['run']): Check {
  return { name, title, timeoutMs, run };
}

interface RunChecksOptions {
  clock?: Clock;
  /** Aborts every check still running (e.g. the action is cancelled). */
  signal?: AbortSignal;
  /** Called as each check settles, in completion order (for live log lines). */
  onResult?: (result: CheckResult) => void;
}

/**
 * Runs checks concurrently, each under its own timeout. A check that overstays its timeout is
 * reported as failed at the deadline and its signal aborted; it never holds up the others.
 * Results come back in the order the checks were given.
 */
export async function runChecks(checks: readonly Check[], options: RunChecksOptions = {}): Promise<CheckResult[]> {
  const clock = options.clock ?? systemClock;
  return Promise.all(checks.map((check) => runOne(check, clock, options)));
}

async function runOne(check: Check, clock: Clock, options: RunChecksOptions): Promise<CheckResult> {
  const controller = new AbortController();
  const stopTimer = new AbortController();
  const onParentAbort = (): void => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onParentAbort, { once: true });
  const started = clock.now();

  const timeout = clock.sleep(check.timeoutMs, stopTimer.signal).then(
    (): CheckOutcome => {
      controller.abort(new Error(`timed out after ${formatDuration(check.timeoutMs)}`));
      return {
        status: 'fail',
        observed: 'no answer',
        detail: `The check did not finish within its ${formatDuration(check.timeoutMs)} timeout.`,
      };
    },
    () => new Promise<CheckOutcome>(() => {}),
  );

  let outcome: CheckOutcome;
  try {
    outcome = await Promise.race([
      check.run({ signal: controller.signal, clock }).catch((error: unknown) => failureOf(error)),
      timeout,
    ]);
  } finally {
    stopTimer.abort();
    options.signal?.removeEventListener('abort', onParentAbort);
  }
  const result: CheckResult = { name: check.name, title: check.title, ...outcome, durationMs: clock.now() - started };
  options.onResult?.(result);
  return result;
}

/** An unexpected throw is a failed check with its cause, never a stack trace in the report. */
function failureOf(error: unknown): CheckOutcome {
  return { status: 'fail', observed: 'error', detail: describeError(error) };
}

/** "message (cause: inner message, code ECONNREFUSED)" — the chain a person needs, without frames. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    const api = kubernetesStatus(current);
    if (api) {
      parts.push(api);
      break;
    }
    if (current instanceof Error) {
      const code = (current as { code?: unknown }).code;
      const text = current.message || current.name;
      parts.push(typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text);
      current = (current as { cause?: unknown }).cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.join(': caused by ');
}

/**
 * client-node's ApiException carries the API server's Status object as a JSON string body; its
 * own message ("HTTP-Code: 503 Message: Unknown API Status Code! Body: …") is not for people.
 */
function kubernetesStatus(error: unknown): string | undefined {
  const e = error as { code?: unknown; body?: unknown };
  if (typeof e?.code !== 'number' || e.body === undefined) return undefined;
  let status: { message?: string; reason?: string } | undefined;
  try {
    status = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as { message?: string; reason?: string };
  } catch {
    status = undefined;
  }
  return `Kubernetes API ${e.code}${status?.reason ? ` ${status.reason}` : ''}${status?.message ? `: ${status.message}` : ''}`;
}
