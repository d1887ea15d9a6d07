/**
 * Runbook §4.4 "only if deployment included database migrations that need reverting", decided from
 * the schema version preflight recorded on the Deployment before the deploy: unchanged means an
 * application rollback only; changed means the point-in-time recovery to the recorded time (`auto`),
 * or — with `database-restore: none` — a stop before anything is changed, unless allowed.
 */
import type { RunContext } from '@veloz/shared/contract';
import { describeError } from '@veloz/shared/checks';
import { unlessNotFound } from '@veloz/shared/kube/errors';
import type { KubeSession } from '@veloz/shared/kube/session';
import { StepFailure, type ActionRun } from '@veloz/shared/pipeline';
import {
  PRE_DEPLOY_SCHEMA_ANNOTATION,
  readSchemaVersion,
  schemaRecordOf,
  type SchemaRecord,
} from '@veloz/shared/schema-version';
import type { DatabaseRestore } from './database-inputs';
import type { RollbackSettings } from './inputs';

interface SchemaContext {
  s: Readonly<RollbackSettings>;
  ctx: RunContext;
  run: ActionRun;
  session: KubeSession;
  /** Set here when the schema changed and database-restore is auto: the restore to run. */
  database?: DatabaseRestore;
  /** What the summary's headline says about the database. */
  databaseNote?: string;
}

export async function compareSchema(rollback: SchemaContext): Promise<void> {
  const guard = rollback.s.schema!;
  const { namespace, deployment } = rollback.s.target;
  const record = await recordedSchema(rollback);
  if (!record) {
    if (guard.mode === 'auto') {
      throw new StepFailure(
        `database-restore is auto, but deployment/${deployment} in ${namespace} carries no schema version recorded before the deploy (annotation ${PRE_DEPLOY_SCHEMA_ANNOTATION}): nothing was changed.`,
        [
          'Give preflight `migration-version-query` (with `postgres-url`) so the next deploy records it.',
          'For this rollback: `database-restore: pitr` with `recovery-time` (a time before the deploy), or `database-restore: none`.',
        ],
      );
    }
    rollback.run.note('no schema version recorded before the deploy: not compared');
    return;
  }
  const query = guard.query || record.query;
  let current: string;
  try {
    current = await readSchemaVersion(rollback.s.postgresUrl!, query);
  } catch (error) {
    throw new StepFailure(
      `Could not read the schema version with \`${query}\`: ${describeError(error)}. Nothing was changed.`,
      [`Check the database and the query (\`psql -c '${query}'\`), then re-run this rollback.`],
    );
  }
  if (current === record.version) return unchanged(rollback, record);
  changed(rollback, record, current);
}

async function recordedSchema(r: SchemaContext): Promise<SchemaRecord | undefined> {
  const { namespace, deployment: name } = r.s.target;
  // none: choosing the target says what is missing
  const d = await unlessNotFound(r.session.kube.apps.readNamespacedDeployment({ name, namespace }));
  return d && schemaRecordOf(d.metadata?.annotations);
}

function unchanged(r: SchemaContext, record: SchemaRecord): void {
  const text = `no migration applied since ${record.at} (schema version ${record.version})`;
  r.run.fact('Database', `${text}: application rollback only`);
  r.run.note(text);
  r.run.outputs['database-restored'] = 'false';
  r.databaseNote = `${text}, so the database was not restored`;
}

function changed(r: SchemaContext, record: SchemaRecord, current: string): void {
  const guard = r.s.schema!;
  const versions = `schema version ${record.version} before the deploy (${record.at}), ${current} now`;
  if (guard.mode === 'auto') {
    r.database = {
      recoveryTime: new Date(record.at),
      restoreCommands: guard.restoreCommands,
      restoreTimeoutMs: guard.restoreTimeoutMs,
    };
    r.run.fact('Database', `${versions}: restoring to ${record.at}`);
    r.run.note(`migrated: ${versions}`);
    r.databaseNote = `the database was restored to ${record.at} (${versions})`;
    return;
  }
  if (guard.allowMismatch) {
    r.run.warnings.push(`Rolled back over a changed schema (allow-schema-mismatch: true): ${versions}.`);
    r.run.note(`migrated, allowed: ${versions}`);
    r.run.outputs['database-restored'] = 'false';
    return;
  }
  throw new StepFailure(
    `The deploy migrated the database: ${versions}. database-restore is none, so the previous version would run against a schema it may not understand. Nothing was changed.`,
    [
      `Re-run with \`database-restore: auto\` and \`restore-commands\` to restore the database to ${record.at} (runbook §4.4).`,
      'Or, if the migration is backward compatible, re-run with `allow-schema-mismatch: true`.',
    ],
  );
}
