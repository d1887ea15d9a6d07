import { InputError, type InputReader } from '@veloz/shared/inputs';
import { parseBoolean, parseInteger } from '@veloz/shared/parse';
import { readIncidentTicket, type IncidentTicket } from './incident-inputs';
import { readDatabase, type DatabaseRestore, type SchemaGuard } from './database-inputs';
import { readRecords, type RecordSettings } from '@veloz/shared/records/settings';
import { readRunLimits, type RunLimits } from '@veloz/shared/run-limits';
import { readTarget, type TargetSettings } from '@veloz/shared/target';
import { freeText } from '@veloz/shared/secrets';

export interface RollbackSettings extends RunLimits {
  target: TargetSettings;
  reason: string;
  toRevision?: number;
  verifyUrl?: string;
  healthPaths: string[];
  database?: DatabaseRestore;
  schema?: SchemaGuard;
  postgresUrl?: string;
  consistencyQuery: string;
  records: RecordSettings;
  /** `plan: true`: report what would be done, change nothing. */
  plan: boolean;
  incident?: string;
  /** §4.5 step 5: open (or, on a re-run, update) a GitHub issue from the post-mortem template. */
  incidentTicket?: IncidentTicket;
  force: boolean;
}

export function parseRollbackInputs(
  reader: InputReader,
  mask: (secret: string) => void,
  now = new Date(),
): RollbackSettings {
  const target = readTarget(reader, mask);
  // Free text lands in log records, chat and the summary: one line, escaped where it is rendered.
  const reason = reader.must('reason', freeText, { required: true }, '');
  const toRevision = reader.parsed('to-revision', (t) => parseInteger(t, 1));
  const limits = readRunLimits(reader);
  const verifyUrl = reader.url('verify-url')?.toString().replace(/\/$/, '');
  const healthPaths = reader.list('health-paths');
  for (const path of healthPaths) {
    if (!path.startsWith('/'))
      throw new InputError('health-paths', healthPaths.join(', '), 'paths starting with /, such as /health');
  }
  const { postgresUrl, database, schema } = readDatabase(reader, now);
  const consistencyQuery = reader.text('consistency-query', { required: true });
  const records = readRecords(reader);
  const incident = reader.parsed('incident', freeText);
  const incidentTicket = readIncidentTicket(reader, records.githubToken);
  const force = reader.boolean('force');

  return {
    target,
    reason,
    toRevision,
    ...limits,
    verifyUrl,
    healthPaths,
    database,
    schema,
    postgresUrl,
    consistencyQuery,
    records,
    plan: reader.parsed('plan', parseBoolean) ?? false,
    incident,
    incidentTicket,
    force,
  };
}
