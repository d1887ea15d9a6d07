import { InputError, type InputReader } from '@veloz/shared/inputs';
import { parseInteger } from '@veloz/shared/parse';
import { readIncidentTicket, type IncidentTicket } from './incident-inputs';
import { readDatabase, type DatabaseRestore, type SchemaGuard } from './database-inputs';
import { readRecords, type RecordSettings } from '@veloz/shared/records/settings';
import { readTarget, type TargetSettings } from '@veloz/shared/target';
import { singleLine } from '@veloz/shared/secrets';

export interface RollbackSettings {
  target: TargetSettings;
  reason: string;
  toRevision?: number;
  timeoutMs: number;
  verifyUrl?: string;
  healthPaths: string[];
  database?: DatabaseRestore;
  schema?: SchemaGuard;
  postgresUrl?: string;
  consistencyQuery: string;
  records: RecordSettings;
  incident?: string;
  /** §4.5 step 5: open (or, on a re-run, update) a GitHub issue from the post-mortem template. */
  incidentTicket?: IncidentTicket;
  force: boolean;
  lockTtlMs: number;
  lockWaitMs: number;
}

export function parseRollbackInputs(
  reader: InputReader,
  mask: (secret: string) => void,
  now = new Date(),
): RollbackSettings {
  const target = readTarget(reader, mask);
  // Free text lands in log records, chat and the summary: one line, escaped where it is rendered.
  const reason = singleLine(reader.text('reason', { required: true }));
  const toRevision = reader.parsed('to-revision', (t) => parseInteger(t, 1));
  const timeoutMs = reader.duration('timeout');
  const verifyUrl = reader.url('verify-url')?.toString().replace(/\/$/, '');
  const healthPaths = reader.list('health-paths');
  for (const path of healthPaths) {
    if (!path.startsWith('/'))
      throw new InputError('health-paths', healthPaths.join(', '), 'paths starting with /, such as /health');
  }
  const { postgresUrl, database, schema } = readDatabase(reader, now);
  const consistencyQuery = reader.text('consistency-query', { required: true });
  const records = readRecords(reader);
  const incident = reader.parsed('incident', singleLine);
  const incidentTicket = readIncidentTicket(reader, records.githubToken);
  const force = reader.boolean('force');
  const lockTtlMs = reader.duration('lock-ttl');
  const lockWaitMs = reader.duration('lock-wait');

  if (timeoutMs <= 0) throw new InputError('timeout', reader.text('timeout'), 'a duration above zero, such as 5m');
  if (lockTtlMs < 10_000) throw new InputError('lock-ttl', reader.text('lock-ttl'), 'a duration of at least 10s');
  return {
    target,
    reason,
    toRevision,
    timeoutMs,
    verifyUrl,
    healthPaths,
    database,
    schema,
    postgresUrl,
    consistencyQuery,
    records,
    incident,
    incidentTicket,
    force,
    lockTtlMs,
    lockWaitMs,
  };
}
