/**
 * The runbook §4.4 inputs: whether the database is restored (`none`, `pitr` to a given time, or `auto`:
 * only when the deploy changed the schema preflight recorded), how, and the schema guard for `none`.
 */
import { InputError, type InputReader } from '@veloz/shared/inputs';
import { parseIsoTime } from '@veloz/shared/parse';
import { readPostgresUrl } from '@veloz/shared/data-tier/inputs';

export interface DatabaseRestore {
  recoveryTime: Date;
  restoreCommands: string[];
  restoreTimeoutMs: number;
}

/** Compare the schema with the version preflight recorded before the deploy (runbook §4.4). */
export interface SchemaGuard {
  /** auto: restore when it changed; none: refuse to roll back over a changed schema unless allowed. */
  mode: 'auto' | 'none';
  /** `migration-version-query`; unset means the query preflight recorded with the version. */
  query?: string;
  restoreCommands: string[];
  restoreTimeoutMs: number;
  allowMismatch: boolean;
}

interface DatabaseSettings {
  postgresUrl?: string;
  database?: DatabaseRestore;
  schema?: SchemaGuard;
}

export function readDatabase(reader: InputReader, now: Date): DatabaseSettings {
  const mode = reader.choice('database-restore', ['none', 'pitr', 'auto'] as const);
  const recoveryTime = reader.parsed('recovery-time', parseIsoTime);
  const restoreCommands = reader.lines('restore-commands');
  const restoreTimeoutMs = reader.duration('restore-timeout');
  const postgresUrl = readPostgresUrl(reader);
  const query = reader.parsed('migration-version-query', (text) => text.trim());
  const allowMismatch = reader.boolean('allow-schema-mismatch');

  if (mode === 'pitr')
    return { postgresUrl, database: pitr(reader, now, recoveryTime, restoreCommands, restoreTimeoutMs) };
  if (recoveryTime) {
    const expected =
      mode === 'auto'
        ? 'nothing with database-restore: auto (it recovers to the time preflight recorded the schema version)'
        : 'nothing unless database-restore is pitr (set database-restore: pitr to restore the database)';
    throw new InputError('recovery-time', reader.text('recovery-time'), expected);
  }
  if (mode === 'auto') {
    if (!postgresUrl)
      throw new InputError(
        'postgres-url',
        '',
        'a PostgreSQL URL, because database-restore is auto (to read the schema version)',
      );
    if (restoreCommands.length === 0)
      throw new InputError('restore-commands', '', 'at least one restore command, because database-restore is auto');
  } else if (restoreCommands.length > 0) {
    throw new InputError(
      'restore-commands',
      reader.text('restore-commands'),
      'nothing unless database-restore is pitr or auto (set database-restore to restore the database)',
    );
  }
  // Without a database to ask, `none` cannot tell whether the schema changed: nothing to guard.
  const schema = postgresUrl ? { mode, query, restoreCommands, restoreTimeoutMs, allowMismatch } : undefined;
  return { postgresUrl, schema };
}

function pitr(
  reader: InputReader,
  now: Date,
  recoveryTime: Date | undefined,
  restoreCommands: string[],
  restoreTimeoutMs: number,
): DatabaseRestore {
  if (!recoveryTime) {
    throw new InputError(
      'recovery-time',
      '',
      'an ISO-8601 UTC time before the deployment, because database-restore is pitr',
    );
  }
  if (recoveryTime.getTime() >= now.getTime()) {
    throw new InputError(
      'recovery-time',
      reader.text('recovery-time'),
      `a time in the past (now is ${now.toISOString()})`,
    );
  }
  if (restoreCommands.length === 0) {
    throw new InputError('restore-commands', '', 'at least one restore command, because database-restore is pitr');
  }
  return { recoveryTime, restoreCommands, restoreTimeoutMs };
}
