/**
 * Runbook §3.4 "database connections stable": the engine's sessions in pg_stat_activity, held to a band
 * around the count recorded before the deploy (a connection leak grows it, a crash-looping pool drops
 * it), and the server's total held below max_connections (then nobody, the engine included, connects).
 */

export interface ConnectionSettings {
  /** Count sessions with this application_name (the engine's pool sets it). */
  applicationName?: string;
  /** Count sessions of this database user. With neither, every client session but ours is counted. */
  user?: string;
  /** Engine sessions before the deploy (preflight's `postgres-connections`); unset: the first count seen. */
  baseline?: number;
  /** Allowed relative change, e.g. 0.5 for ±50%; unset: only counted (preflight records it). */
  band?: number;
}

/** Our own sessions: never counted as the engine's. */
const OWN_APPLICATION_NAMES = ['veloz-preflight', 'veloz-validate', 'veloz-deploy-actions'];

/** A band never narrower than this many sessions either way: a pool of 2 may open a third. */
const MIN_BAND_SESSIONS = 2;

export const CONNECTIONS_SQL = `
SELECT count(*) FILTER (WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
         AND ($1::text IS NULL OR application_name = $1) AND ($2::text IS NULL OR usename = $2)
         AND NOT (application_name = ANY($3::text[])))::int AS engine,
       count(*) FILTER (WHERE backend_type = 'client backend')::int AS total,
       current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int AS reserved
FROM pg_stat_activity`;

export interface ConnectionRow {
  engine: number;
  total: number;
  max_connections: number;
  reserved: number;
}

export interface ConnectionJudgement {
  problems: string[];
  observed: string;
  threshold: string;
  data: Record<string, unknown>;
}

export function connectionParams(settings: ConnectionSettings): unknown[] {
  return [settings.applicationName ?? null, settings.user ?? null, OWN_APPLICATION_NAMES];
}

/** Who the count is about, for messages: `application_name=veloz-engine`, `user veloz`. */
function describeSessions(settings: ConnectionSettings): string {
  const parts = [
    settings.applicationName ? `application_name=${settings.applicationName}` : '',
    settings.user ? `user ${settings.user}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'all client sessions';
}

function bandOf(baseline: number, band: number): { low: number; high: number } {
  return {
    low: Math.max(0, Math.min(Math.floor(baseline * (1 - band)), baseline - MIN_BAND_SESSIONS)),
    high: Math.max(Math.ceil(baseline * (1 + band)), baseline + MIN_BAND_SESSIONS),
  };
}

export function judgeConnections(
  settings: ConnectionSettings,
  baseline: number,
  row: ConnectionRow,
): ConnectionJudgement {
  const { low, high } = settings.band === undefined ? { low: 0, high: Infinity } : bandOf(baseline, settings.band);
  const limit = row.max_connections - row.reserved;
  const who = describeSessions(settings);
  const problems: string[] = [];
  if (settings.band !== undefined && (row.engine < low || row.engine > high)) {
    problems.push(
      `engine connections (${who}) moved from ${baseline} before the deploy to ${row.engine}: ${row.engine > high ? 'above' : 'below'} the band ${low}–${high} (±${Math.round(settings.band * 100)}%)${row.engine > high ? ' — a connection leak?' : ' — is the pool failing to connect?'}`,
    );
  }
  if (row.total >= limit) {
    problems.push(
      `the server is at max_connections: ${row.total} client sessions of ${row.max_connections} (${row.reserved} reserved for superusers); new connections are refused`,
    );
  }
  return {
    problems,
    observed:
      settings.band === undefined
        ? `engine connections ${row.engine}, server ${row.total}/${row.max_connections}`
        : `engine connections ${row.engine} (baseline ${baseline}), server ${row.total}/${row.max_connections}`,
    threshold: `${settings.band === undefined ? '' : `engine connections ${low}–${high}, `}server < ${limit}`,
    data: {
      engine: row.engine,
      ...(settings.band === undefined ? {} : { baseline, low, high }),
      total: row.total,
      maxConnections: row.max_connections,
      reserved: row.reserved,
      sessions: who,
    },
  };
}
