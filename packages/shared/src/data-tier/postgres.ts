/**
 * PostgreSQL replication and WAL archiving on the primary (runbook §1.1 "WAL backup current
 * (< 5 minutes old)", §1.2 step 4, §3.4 "replication lag < 1MB"), and the engine's connections
 * (§3.4 "database connections stable"). Preflight runs it before the deploy, validate every pass after.
 */
import type { Check, CheckOutcome } from '../checks';
import { abortable, describeConnectError, redactSecrets } from '../faults';
import { displayConnection } from '../secrets';
import { formatBytes, formatDuration } from '../parse';
import {
  CONNECTIONS_SQL,
  connectionParams,
  judgeConnections,
  type ConnectionJudgement,
  type ConnectionRow,
  type ConnectionSettings,
} from './pg-connections';

export interface PostgresCheckSettings {
  /** Connection URL of the primary (secret: never echoed; reports show user@host:port/db). */
  url: string;
  /** Standbys that must be in state `streaming` (default 1). */
  minStandbys: number;
  /** Maximum replay lag per streaming standby, in bytes (default 1MB). */
  maxReplicationLagBytes: number;
  /** pg_stat_archiver.last_archived_time must be younger than this (default 5 min); unset: not checked. */
  maxWalAgeMs?: number;
  /** Count and judge the engine's sessions; unset: not counted. */
  connections?: ConnectionSettings;
  /** Our session's application_name (default veloz-preflight). */
  applicationName?: string;
  timeoutMs: number;
}

interface Standby {
  application_name: string | null;
  client_addr: string | null;
  state: string | null;
  sync_state: string | null;
  replay_lag_bytes: string | null;
}

interface Archiver {
  archive_mode: string;
  archived_count: string;
  last_archived_wal: string | null;
  last_archived_age_ms: string | null;
  failed_count: string;
  last_failed_wal: string | null;
  failed_after_success: boolean;
}

const REPLICATION_SQL = `
SELECT application_name, client_addr::text AS client_addr, state, sync_state,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint::text AS replay_lag_bytes
FROM pg_stat_replication ORDER BY application_name`;

// Ages are computed by the server against its own clock (clock_timestamp(), not the transaction's
// start: the archiver may record a segment after our transaction began): both timestamps come from one clock, so
// runner/database clock skew cannot fake a fresh or a stale archive.
const ARCHIVER_SQL = `
SELECT current_setting('archive_mode') AS archive_mode,
       archived_count::text, last_archived_wal,
       (extract(epoch FROM clock_timestamp() - last_archived_time) * 1000)::bigint::text AS last_archived_age_ms,
       failed_count::text, last_failed_wal,
       coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false) AS failed_after_success
FROM pg_stat_archiver`;

export function postgresCheck(settings: PostgresCheckSettings): Check {
  // Without a recorded baseline, "stable" means: within the band of the first count this check saw.
  let firstCount: number | undefined;
  const countConnections = async (query: Query): Promise<ConnectionJudgement | undefined> => {
    if (!settings.connections) return undefined;
    const row = (await query<ConnectionRow>(CONNECTIONS_SQL, connectionParams(settings.connections)))[0]!;
    firstCount ??= row.engine;
    return judgeConnections(settings.connections, settings.connections.baseline ?? firstCount, row);
  };
  return {
    name: 'postgres',
    title:
      settings.maxWalAgeMs === undefined
        ? 'PostgreSQL replication and connections'
        : 'PostgreSQL replication and WAL archiving',
    timeoutMs: settings.timeoutMs,
    async run({ signal }): Promise<CheckOutcome> {
      const where = displayConnection(settings.url);
      const secrets = urlSecrets(settings.url);
      // Lazy: pg is only loaded when this check actually runs.
      const { default: pg } = await import('pg');
      const client = new pg.Client({
        connectionString: settings.url,
        connectionTimeoutMillis: Math.max(1000, settings.timeoutMs - 500),
        statement_timeout: Math.max(1000, settings.timeoutMs - 500),
        application_name: settings.applicationName ?? 'veloz-preflight',
      });
      client.on('error', () => undefined); // a dropped connection surfaces through the pending query
      const kill = (): void => {
        // end() waits for the server; on abort we want the socket gone now.
        (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
      };
      try {
        await abortable(client.connect(), signal, kill);
      } catch (e) {
        return connectFailure(e, where, secrets, signal);
      }
      const query: Query = async <R>(sql: string, params?: unknown[]) =>
        (await abortable(client.query(sql, params), signal, kill)).rows as R[];
      try {
        const recovery = await abortable(client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r'), signal, kill);
        if (recovery.rows[0]?.r) {
          return {
            status: 'fail',
            observed: `${where} is a standby (in recovery)`,
            threshold: 'the primary',
            detail:
              'postgres-url points at a standby; replication and archiving are only visible on the primary. Point it at the primary (read-write) service.',
          };
        }
        const standbys = await query<Standby>(REPLICATION_SQL);
        const archiver = settings.maxWalAgeMs === undefined ? undefined : (await query<Archiver>(ARCHIVER_SQL))[0];
        return judge(settings, where, standbys, archiver, await countConnections(query));
      } catch (e) {
        const err = e as { code?: string; message?: string };
        if (err.code && /^[0-9A-Z]{5}$/.test(err.code)) {
          return {
            status: 'fail',
            observed: `query failed on ${where}: SQLSTATE ${err.code}`,
            detail: `${redactSecrets(err.message ?? '', secrets)} — the check needs pg_monitor (GRANT pg_monitor TO <user>).`,
          };
        }
        return connectFailure(e, where, secrets, signal);
      } finally {
        kill();
        client.end().catch(() => undefined);
      }
    },
  };
}

type Query = <R>(sql: string, params?: unknown[]) => Promise<R[]>;

function judge(
  s: PostgresCheckSettings,
  where: string,
  standbys: Standby[],
  a: Archiver | undefined,
  connections: ConnectionJudgement | undefined,
): CheckOutcome {
  const replication = judgeReplication(s, standbys);
  const archiving = a && s.maxWalAgeMs !== undefined ? judgeArchiving(a, s.maxWalAgeMs) : undefined;
  const problems = [...replication.problems, ...(archiving?.problems ?? []), ...(connections?.problems ?? [])];
  const notes = replication.notes;
  return {
    status: problems.length ? 'fail' : 'pass',
    observed: [replication.observed, archiving?.observed, connections?.observed].filter(Boolean).join('; '),
    threshold: [replication.threshold, archiving?.threshold, connections?.threshold].filter(Boolean).join(', '),
    detail: problems.length ? `${where}: ${[...problems, ...notes].join('; ')}` : notes.join('; ') || undefined,
    data: {
      server: where,
      standbys: standbys.map((r) => ({
        name: r.application_name,
        clientAddr: r.client_addr,
        state: r.state,
        syncState: r.sync_state,
        replayLagBytes: r.replay_lag_bytes === null ? null : Number(r.replay_lag_bytes),
      })),
      ...(archiving ? { archiving: archiving.data } : {}),
      ...(connections ? { connections: connections.data } : {}),
      // Which §3.4 items a failure concerns (validate ticks them apart).
      failing: {
        replication: replication.problems.length > 0,
        archiving: (archiving?.problems.length ?? 0) > 0,
        connections: (connections?.problems.length ?? 0) > 0,
      },
    },
  };
}

interface Part {
  problems: string[];
  notes: string[];
  observed: string;
  threshold: string;
}

function judgeReplication(s: PostgresCheckSettings, standbys: Standby[]): Part {
  const problems: string[] = [];
  const notes: string[] = [];
  // Without pg_monitor (or superuser), pg_stat_replication hides state and LSNs: rows with nulls.
  const hidden = standbys.filter((r) => r.state === null);
  if (hidden.length > 0) {
    problems.push(
      `${hidden.length} standby row(s) are hidden from this user: GRANT pg_monitor TO the postgres-url user`,
    );
  }
  const label = (r: Standby): string => r.application_name || r.client_addr || 'standby';
  const streaming = standbys.filter((r) => r.state === 'streaming');
  const others = standbys.filter((r) => r.state !== null && r.state !== 'streaming');
  if (streaming.length < s.minStandbys) {
    const other = others.length ? ` (not streaming: ${others.map((r) => `${label(r)}=${r.state}`).join(', ')})` : '';
    problems.push(`${streaming.length} standby(s) streaming, need at least ${s.minStandbys}${other}`);
  }
  const lags = streaming.map((r) => ({ r, lag: r.replay_lag_bytes === null ? null : Number(r.replay_lag_bytes) }));
  for (const { r, lag } of lags) {
    if (lag === null) problems.push(`${label(r)} has not reported a replay position yet`);
    else if (lag > s.maxReplicationLagBytes) {
      problems.push(`${label(r)} replay lag ${formatBytes(lag)} exceeds ${formatBytes(s.maxReplicationLagBytes)}`);
    }
  }
  const standbyText = streaming.length
    ? lags
        .map(({ r, lag }) => `${label(r)} ${r.sync_state ?? '?'} lag ${lag === null ? '?' : formatBytes(lag)}`)
        .join(', ')
    : 'no standby streaming';
  if (others.length) notes.push(`other standbys: ${others.map((r) => `${label(r)}=${r.state}`).join(', ')}`);
  return {
    problems,
    notes,
    observed: `${streaming.length}/${s.minStandbys} streaming (${standbyText})`,
    threshold: `≥ ${s.minStandbys} streaming, lag ≤ ${formatBytes(s.maxReplicationLagBytes)}`,
  };
}

function judgeArchiving(a: Archiver, maxWalAgeMs: number): Part & { data: Record<string, unknown> } {
  const problems: string[] = [];
  // WAL archiving: off is a fail, not a pass — without an archive there is no point-in-time recovery,
  // which the rollback chapter (§4) relies on; the runbook requires "WAL backup current".
  const archiving = a.archive_mode === 'on' || a.archive_mode === 'always';
  const ageMs = a.last_archived_age_ms === null ? null : Number(a.last_archived_age_ms);
  if (!archiving) {
    problems.push(`WAL archiving is off (archive_mode=${a.archive_mode}): no WAL backup, no point-in-time recovery`);
  } else if (a.failed_after_success) {
    problems.push(
      `WAL archiving is failing: last attempt for ${a.last_failed_wal ?? '?'} failed after the last success (${a.failed_count} failures in total); check archive_command and the server log`,
    );
  } else if (ageMs === null) {
    problems.push('no WAL segment has been archived yet');
  } else if (ageMs > maxWalAgeMs) {
    problems.push(
      `last archived WAL ${a.last_archived_wal} is ${formatDuration(ageMs)} old, limit ${formatDuration(maxWalAgeMs)} (set archive_timeout below the limit on quiet databases)`,
    );
  }
  return {
    problems,
    notes: [],
    observed: !archiving
      ? 'archiving off'
      : ageMs === null
        ? 'nothing archived'
        : `WAL archived ${formatDuration(ageMs)} ago`,
    threshold: `WAL < ${formatDuration(maxWalAgeMs)}`,
    data: {
      mode: a.archive_mode,
      archivedCount: Number(a.archived_count),
      lastArchivedWal: a.last_archived_wal,
      lastArchivedAgeMs: ageMs,
      failedCount: Number(a.failed_count),
      lastFailedWal: a.last_failed_wal,
      failingNow: a.failed_after_success,
    },
  };
}

function connectFailure(e: unknown, where: string, secrets: string[], signal: AbortSignal): CheckOutcome {
  const err = e as { code?: string; message?: string };
  if (err.code === '28P01' || err.code === '28000') {
    return {
      status: 'fail',
      observed: `authentication failed on ${where} (SQLSTATE ${err.code})`,
      detail: `${redactSecrets(err.message ?? '', secrets)} — check the user and password in postgres-url and pg_hba.conf.`,
    };
  }
  if (err.code === '3D000') {
    return {
      status: 'fail',
      observed: `database missing on ${where}`,
      detail: redactSecrets(err.message ?? '', secrets),
    };
  }
  const host = where.replace(/^[^@]*@/, '').replace(/\/.*$/, '');
  return {
    status: 'fail',
    observed: `cannot connect to ${host}`,
    detail: describeConnectError('PostgreSQL', where, e, secrets, signal),
  };
}

function urlSecrets(url: string): string[] {
  try {
    const u = new URL(url);
    return [u.password, decodeURIComponent(u.password), url].filter(Boolean);
  } catch {
    return [url];
  }
}
