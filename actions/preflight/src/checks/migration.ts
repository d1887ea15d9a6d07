/**
 * The schema version before the deploy (`migration-version-query`): read now, recorded on the
 * Deployment once the checklist passed, so a rollback can tell whether this deploy migrated the
 * database (runbook §4.4) and to which time a point-in-time recovery goes back.
 */
import { type Check, defineCheck, describeError } from '@veloz/shared/checks';
import { readSchemaVersion } from '@veloz/shared/schema-version';

interface MigrationOptions {
  url: string;
  query: string;
  timeoutMs: number;
}

export function migrationCheck(options: MigrationOptions): Check {
  return defineCheck('migration', 'Schema version before the deploy', options.timeoutMs, async ({ clock, signal }) => {
    const at = new Date(clock.now()).toISOString();
    try {
      const version = await readSchemaVersion(options.url, options.query, signal);
      return { status: 'pass', observed: `schema version ${version}`, threshold: 'readable', data: { version, at } };
    } catch (error) {
      return {
        status: 'fail',
        observed: 'unreadable',
        threshold: 'readable',
        detail: `The migration-version-query \`${options.query}\` failed: ${describeError(error)}. Without it a rollback cannot tell whether this deploy migrated the database. Try it with \`psql -c '${options.query}'\`.`,
      };
    }
  });
}
