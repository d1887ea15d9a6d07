import { InputError, type InputReader } from '@veloz/shared/inputs';
import { parseBoolean, parseInteger, parseIsoTime } from '@veloz/shared/parse';
import { readRecords, type RecordSettings } from '@veloz/shared/records/settings';
import { readRunLimits, type RunLimits } from '@veloz/shared/run-limits';
import { readTarget, type TargetSettings } from '@veloz/shared/target';
import { singleLine } from '@veloz/shared/secrets';

export interface RollbackSettings extends RunLimits {
  target: TargetSettings;
  reason: string;
  toRevision?: number;
  verifyUrl?: string;
  healthPaths: string[];
  database?: { recoveryTime: Date; restoreCommands: string[]; restoreTimeoutMs: number };
  postgresUrl?: string;
  consistencyQuery: string;
  records: RecordSettings;
  /** `plan: true`: report what would be done, change nothing. */
  plan: boolean;
  incident?: string;
  force: boolean;
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
  const limits = readRunLimits(reader);
  const verifyUrl = reader.url('verify-url')?.toString().replace(/\/$/, '');
  const healthPaths = reader.list('health-paths');
  for (const path of healthPaths) {
    if (!path.startsWith('/'))
      throw new InputError('health-paths', healthPaths.join(', '), 'paths starting with /, such as /health');
  }
  const databaseRestore = reader.choice('database-restore', ['none', 'pitr'] as const);
  const recoveryTime = reader.parsed('recovery-time', parseIsoTime);
  const restoreCommands = reader.lines('restore-commands');
  const restoreTimeoutMs = reader.duration('restore-timeout');
  const postgresUrl = reader.optional('postgres-url', { secret: true });
  if (postgresUrl && !/^postgres(ql)?:\/\//.test(postgresUrl)) {
    throw new InputError('postgres-url', postgresUrl, 'a URL starting with postgres:// or postgresql://', true);
  }
  const consistencyQuery = reader.text('consistency-query', { required: true });
  const records = readRecords(reader);
  const incident = reader.parsed('incident', singleLine);
  const force = reader.boolean('force');

  let database: RollbackSettings['database'];
  if (databaseRestore === 'pitr') {
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
    database = { recoveryTime, restoreCommands, restoreTimeoutMs };
  } else if (recoveryTime || restoreCommands.length > 0) {
    const input = recoveryTime ? 'recovery-time' : 'restore-commands';
    throw new InputError(
      input,
      reader.text(input),
      'nothing unless database-restore is pitr (set database-restore: pitr to restore the database)',
    );
  }

  return {
    target,
    reason,
    toRevision,
    ...limits,
    verifyUrl,
    healthPaths,
    database,
    postgresUrl,
    consistencyQuery,
    records,
    plan: reader.parsed('plan', parseBoolean) ?? false,
    incident,
    force,
  };
}
