import { type Check, defineCheck } from '@veloz/shared/checks';
import { describeConnectError } from '@veloz/shared/faults';
import { displayConnection, displayUrl } from '@veloz/shared/secrets';
import { httpRequest, urlEndpoint, type HttpEndpoint } from '@veloz/shared/http/endpoint';
import {
  PG_CONNECT_TIMEOUT_MS,
  PG_STATEMENT_TIMEOUT_MS,
  QueryTimeoutError,
  readOnlyQuery,
} from '@veloz/shared/pg-readonly';

interface ConsistencyOptions {
  postgresUrl?: string;
  query?: string;
  /** Path on the engine, or an absolute URL, answering JSON with `consistent: true`. */
  url?: string;
  timeoutMs: number;
}

/**
 * Runbook §4.1 "data inconsistency — any detected → immediate rollback": a SQL query returning a
 * row with a boolean `ok` (and optional `detail`), run read-only with a statement timeout on a
 * connection closed every pass, and/or an HTTP assertion.
 */
export function consistencyCheck(engine: HttpEndpoint, options: ConsistencyOptions): Check {
  return defineCheck('consistency', 'Data consistency', options.timeoutMs, async ({ signal }) => {
    const problems: string[] = [];
    const seen: string[] = [];
    if (options.postgresUrl && options.query) {
      try {
        const [row] = await readOnlyQuery<{ ok?: unknown; detail?: unknown }>({
          url: options.postgresUrl,
          sql: options.query,
          statementTimeoutMs: Math.min(options.timeoutMs, PG_STATEMENT_TIMEOUT_MS),
          connectTimeoutMs: Math.min(options.timeoutMs, PG_CONNECT_TIMEOUT_MS),
          signal,
        });
        if (!row || typeof row.ok !== 'boolean') {
          return {
            status: 'fail',
            observed: 'no boolean `ok` column',
            detail: 'consistency-query must return one row with a boolean column `ok`.',
          };
        }
        seen.push(`SQL ok=${row.ok}${row.detail ? ` (${String(row.detail)})` : ''}`);
        if (!row.ok) problems.push(`SQL check reports an inconsistency${row.detail ? `: ${String(row.detail)}` : ''}`);
      } catch (error) {
        return {
          status: 'fail',
          observed: error instanceof QueryTimeoutError ? 'timeout' : 'error',
          detail:
            error instanceof QueryTimeoutError
              ? `consistency-query: ${error.message}`
              : describeConnectError(
                  'PostgreSQL',
                  displayConnection(options.postgresUrl),
                  error,
                  [options.postgresUrl],
                  signal,
                ),
        };
      }
    }
    if (options.url) {
      const absolute = /^https?:\/\//.test(options.url);
      const ep = absolute ? urlEndpoint(options.url) : engine;
      const response = await httpRequest(ep, {
        path: absolute ? '' : options.url,
        timeoutMs: options.timeoutMs,
        signal,
      });
      let consistent: unknown;
      try {
        consistent = (JSON.parse(response.body) as { consistent?: unknown }).consistent;
      } catch {
        consistent = undefined;
      }
      const shown = absolute ? displayUrl(options.url) : options.url;
      seen.push(`${shown} → ${response.status}, consistent=${String(consistent)}`);
      if (response.status < 200 || response.status >= 300 || consistent !== true) {
        problems.push(`${shown} answered ${response.status} with consistent=${String(consistent)}`);
      }
    }
    const observed = seen.join('; ');
    if (problems.length > 0) {
      return {
        status: 'fail',
        observed,
        threshold: 'no inconsistency',
        detail: problems.join('; '),
        data: { consistent: false },
      };
    }
    return { status: 'pass', observed, threshold: 'no inconsistency', data: { consistent: true } };
  });
}
