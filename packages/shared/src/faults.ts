/**
 * Turns connection errors into one line an on-call engineer can act on: where (host:port), what
 * (the error code) and a hint. Never a stack trace, never a credential.
 */

const HINTS: Record<string, string> = {
  ECONNREFUSED: 'nothing is listening there: is the server running, and is the port right?',
  ECONNRESET: 'the server closed the connection: check its logs, TLS settings or a proxy in between',
  ETIMEDOUT: 'no answer in time: check firewalls, network policies, and that the address is reachable from the runner',
  ENOTFOUND: 'the host name does not resolve: check the spelling, or DNS on the runner',
  EAI_AGAIN: 'DNS lookup failed temporarily: retry, or check DNS on the runner',
  EHOSTUNREACH: 'no route to the host from the runner: check the network path (VPN, private cluster address?)',
  ENETUNREACH: 'the network is unreachable from the runner',
  EPIPE: 'the server closed the connection while we were writing',
  ABORT_ERR: 'the check was cancelled (timed out)',
  CERT_HAS_EXPIRED: 'the server certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server uses a self-signed certificate the runner does not trust',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the server certificate chain is not trusted by the runner',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the certificate does not match the host name',
};

interface ErrorLike {
  code?: string;
  message?: string;
  cause?: unknown;
  name?: string;
}

/** Finds the most specific error code in an error and its causes (fetch wraps socket errors). */
export function errorCode(err: unknown): string | undefined {
  let e = err as ErrorLike | undefined;
  let code: string | undefined;
  for (let depth = 0; e && depth < 5; depth++) {
    if (typeof e.code === 'string' && e.code) code = e.code;
    if (e.name === 'AbortError' || e.name === 'TimeoutError') code ??= 'ABORT_ERR';
    e = e.cause as ErrorLike | undefined;
  }
  return code;
}

function innermostMessage(err: unknown): string {
  let e = err as ErrorLike | undefined;
  let msg = '';
  for (let depth = 0; e && depth < 5; depth++) {
    if (typeof e.message === 'string' && e.message) msg = e.message;
    e = e.cause as ErrorLike | undefined;
  }
  return msg || String(err);
}

/** "cannot reach 127.0.0.1:6379: ECONNREFUSED — nothing is listening there: …" */
export function describeConnectError(
  what: string,
  endpoint: string,
  err: unknown,
  secrets: readonly string[] = [],
  signal?: AbortSignal,
): string {
  // An aborted fetch rejects with the signal's reason, which carries no code: name it ourselves.
  const code = signal?.aborted ? 'ABORT_ERR' : errorCode(err);
  const hint = code ? HINTS[code] : undefined;
  const message = redactSecrets(firstLine(innermostMessage(err)), secrets);
  const head = `cannot reach ${what} at ${endpoint}: ${code ?? 'error'}`;
  const body = code && message.includes(code) && hint ? '' : ` (${message})`;
  return `${head}${body}${hint ? ` — ${hint}` : ''}`;
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 3) out = out.split(s).join('***');
  return out;
}

/** Rejects when the signal aborts; `cleanup` runs then (close a socket, end a client). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal, cleanup?: () => void): Promise<T> {
  if (signal.aborted) {
    cleanup?.();
    return Promise.reject(abortError(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      cleanup?.();
      reject(abortError(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function abortError(signal: AbortSignal): Error {
  const reason = signal.reason as unknown;
  if (reason instanceof Error) return reason;
  const e = new Error('aborted') as Error & { code: string };
  e.name = 'AbortError';
  e.code = 'ABORT_ERR';
  return e;
}
