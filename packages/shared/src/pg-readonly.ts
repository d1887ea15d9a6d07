/**
 * One read-only PostgreSQL query with every wait bounded: the connection (connect timeout), the
 * statement (statement_timeout, enforced by the server even while it waits on a lock), the client
 * side (query_timeout) and the goodbye (end() or, failing that, the socket is destroyed). It runs in
 * `BEGIN READ ONLY`, so a consistency query pasted with a side effect is refused, and the client is
 * closed in `finally` whatever happened — a validate pass must not leave a connection behind.
 */
import type pg from 'pg';
import { describeError } from './checks';

interface ReadOnlyQueryOptions {
  url: string;
  sql: string;
  /** Server-side limit for the statement (default 10 s). */
  statementTimeoutMs?: number;
  /** Limit for opening the connection (default 10 s). */
  connectTimeoutMs?: number;
  /** Aborting closes the connection at once (a check that timed out). */
  signal?: AbortSignal;
}

export const PG_STATEMENT_TIMEOUT_MS = 10_000;
export const PG_CONNECT_TIMEOUT_MS = 10_000;
/** Seen in pg_stat_activity, so a DBA can tell our sessions apart (and tests can count them). */
const PG_APPLICATION_NAME = 'veloz-deploy-actions';

export class QueryTimeoutError extends Error {
  constructor(
    readonly sql: string,
    readonly timeoutMs: number,
    cause: unknown,
  ) {
    super(
      `the query did not finish within ${Math.round(timeoutMs / 1000)}s (statement_timeout; is a table locked?): ${describeError(cause)}`,
    );
    this.name = 'QueryTimeoutError';
  }
}

export async function readOnlyQuery<R extends Record<string, unknown> = Record<string, unknown>>(
  options: ReadOnlyQueryOptions,
): Promise<R[]> {
  const statementTimeoutMs = options.statementTimeoutMs ?? PG_STATEMENT_TIMEOUT_MS;
  const { default: lib } = await import('pg');
  const client = new lib.Client({
    connectionString: options.url,
    connectionTimeoutMillis: options.connectTimeoutMs ?? PG_CONNECT_TIMEOUT_MS,
    statement_timeout: statementTimeoutMs,
    // The server cancels at statement_timeout; this catches a server that stops answering at all.
    query_timeout: statementTimeoutMs + 5_000,
    application_name: PG_APPLICATION_NAME,
  });
  // A dropped connection emits 'error' on the client; unhandled, it would crash the action.
  client.on('error', () => undefined);
  const abort = (): void => destroy(client);
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    await client.connect();
    await client.query('BEGIN READ ONLY');
    try {
      const result = await client.query<R>(options.sql);
      return result.rows;
    } catch (error) {
      if ((error as { code?: string }).code === '57014')
        throw new QueryTimeoutError(options.sql, statementTimeoutMs, error);
      throw error;
    }
  } finally {
    options.signal?.removeEventListener('abort', abort);
    await close(client);
  }
}

type PgClient = InstanceType<typeof pg.Client>;

/** end() politely (ROLLBACK is implied by closing), but never wait more than 2 s for it. */
async function close(client: PgClient): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ended = client.end().catch(() => undefined);
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      destroy(client);
      resolve();
    }, 2_000);
  });
  await Promise.race([ended, late]);
  clearTimeout(timer);
}

function destroy(client: PgClient): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}
