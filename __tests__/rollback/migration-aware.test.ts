/**
 * Runbook §4.4 decided from data: preflight records the schema version before the deploy; the
 * rollback compares it with the real PostgreSQL test server's current one.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { toolPath } from '@veloz/sandbox';
import { execFile } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startCluster, type Cluster } from '../support/cluster';
import { restoreScriptText } from '@veloz/harness/servers/pitr-restore';
import { PG_BIN, startPostgres, type PgCluster } from '@veloz/harness/servers/postgres';

const run = promisify(execFile);
const QUERY = 'SELECT max(version) FROM schema_migrations';
const WRITES = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
let cluster: Cluster;
let pg: PgCluster;
let restoreScript: string;

beforeAll(async () => {
  [cluster, pg] = await Promise.all([startCluster(), startPostgres({ archive: true })]);
  await cluster.install('1.1.0');
  await pg.sql('CREATE TABLE schema_migrations (version int primary key)');
  await pg.sql('INSERT INTO schema_migrations VALUES (1)');
  const backupDir = join(pg.root, 'base');
  await pg.tool('pg_basebackup', ['-h', '127.0.0.1', '-p', String(pg.primary.port), '-D', backupDir, '-X', 'stream']);
  restoreScript = join(pg.root, 'restore_postgres.sh');
  await writeFile(restoreScript, restoreScriptText(pg, backupDir));
  await chmod(restoreScript, 0o755);
}, 120_000);

afterAll(async () => {
  // The restore script restarted the primary outside the test cluster's control: stop it here.
  const stop = [`${PG_BIN}/pg_ctl`, 'stop', '-D', pg.primary.dataDir, '-m', 'immediate'];
  await run('runuser', ['-u', 'postgres', '--', ...stop]).catch(() => undefined);
  await Promise.all([cluster?.stop(), pg?.stop()]);
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Preflight before the deploy: reads and records the schema version. */
async function preflightThenDeploy(version: string): Promise<string> {
  const pre = await runActionBundle(
    'preflight',
    { checks: 'migration', 'postgres-url': pg.url('primary'), 'migration-version-query': QUERY },
    { env: cluster.env, timeoutMs: 120_000 },
  );
  expect(pre.errors).toEqual([]);
  expect(pre.exitCode).toBe(0);
  expect(pre.outputs['schema-version']).toBe('1');
  const deployment = cluster.sandbox.get('deployments', 'veloz', 'veloz-engine') as {
    metadata: { annotations: Record<string, string> };
  };
  expect(JSON.parse(deployment.metadata.annotations['veloz.io/pre-deploy-schema']!)).toEqual({
    version: '1',
    at: pre.outputs['schema-recorded-at'],
    query: QUERY,
  });
  await sleep(1100); // the deploy (and any migration) happens strictly after the recorded time
  await cluster.install(version);
  return pre.outputs['schema-recorded-at']!;
}

function rollback(inputs: Record<string, string>) {
  return runActionBundle(
    'rollback',
    {
      reason: 'orders rejected after the deploy',
      timeout: '60s',
      'postgres-url': pg.url('primary'),
      'consistency-query': QUERY,
      ...inputs,
    },
    { env: cluster.env, timeoutMs: 180_000 },
  );
}

/** Archives the WAL segment holding everything written so far, so PITR can replay past it. */
async function archiveCurrentWal(): Promise<void> {
  const segment = await pg.sql('SELECT pg_walfile_name(pg_current_wal_lsn())');
  await pg.switchWal();
  for (let i = 0; i < 100; i++) {
    const last = await pg.sql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
    if (last >= segment) return;
    await sleep(200);
  }
  throw new Error(`WAL segment ${segment} was not archived within 20 s`);
}

describe('migration-aware database rollback (runbook §4.4)', () => {
  test('no migration since preflight: application rollback only, and the report says so', async () => {
    const at = await preflightThenDeploy('1.2.0');
    // /bin/false as the restore: were the database restored, the rollback would fail.
    const result = await rollback({ 'database-restore': 'auto', 'restore-commands': '/bin/false' });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.outputs['database-restored']).toBe('false');
    expect(result.outputs['rolled-back-to']).toBe('revision 1 (v1.1.0)');
    expect(result.summary).toContain(`no migration applied since ${at} (schema version 1)`);
    expect(result.summary).not.toContain('Restore the database');
    expect(result.summary).not.toContain('Stop the engine');
  });

  test('database-restore none over a changed schema: a clear error and no write but the lock', async () => {
    const at = await preflightThenDeploy('1.2.0');
    await pg.sql('BEGIN; INSERT INTO schema_migrations VALUES (2); CREATE TABLE new_feature (id int); COMMIT');
    const revisions = await cluster.helmRevisions();
    const since = Date.now();
    const result = await rollback({});
    expect(result.exitCode).toBe(1);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toContain(
      `The deploy migrated the database: schema version 1 before the deploy (${at}), 2 now.`,
    );
    expect(result.errors[0]).toContain('Nothing was changed.');
    expect(result.summary).toContain('allow-schema-mismatch: true');
    expect(result.summary).toContain('database-restore: auto');
    const writes = cluster.sandbox.journal.list({ since }).filter((e) => WRITES.has(e.verb) && e.resource !== 'leases');
    expect(writes).toEqual([]);
    expect(await cluster.helmRevisions()).toEqual(revisions);
  });

  test('a migration applied since preflight: the engine stops, PITR to the recorded time, the new table is gone', async () => {
    const deployment = cluster.sandbox.get('deployments', 'veloz', 'veloz-engine') as {
      metadata: { annotations: Record<string, string> };
    };
    const at = (JSON.parse(deployment.metadata.annotations['veloz.io/pre-deploy-schema']!) as { at: string }).at;
    await archiveCurrentWal();
    const kubectl = await toolPath('kubectl');
    const result = await rollback({
      'database-restore': 'auto',
      'restore-commands': [
        `${kubectl} get pods -n veloz -l app.kubernetes.io/name=veloz -o name`,
        `${restoreScript} -t pitr -T {recovery-time}`,
      ].join('\n'),
    });
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.outputs['database-restored']).toBe('true');
    expect(result.summary).toContain(`restored to ${at.replace(/\.000Z$/, 'Z')}`);
    expect(result.summary).toMatch(
      /Stop the engine: scale to 0 and wait until no pod remains \(§4\.4 step 1\) \| ✅ done/,
    );
    expect(result.summary).toContain(
      `the database was restored to ${at} (schema version 1 before the deploy (${at}), 2 now)`,
    );
    expect(await pg.sql("SELECT coalesce(to_regclass('new_feature')::text, 'gone')")).toBe('gone');
    expect(await pg.sql(QUERY)).toBe('1');
    expect(result.summary).toMatch(/SELECT max\(version\) FROM schema_migrations → 1/);
  });

  test.each([
    [
      { 'database-restore': 'auto' },
      'restore-commands',
      'at least one restore command, because database-restore is auto',
    ],
    [
      { 'database-restore': 'auto', 'restore-commands': '/bin/true', 'recovery-time': '2026-01-01T00:00:00Z' },
      'recovery-time',
      'nothing with database-restore: auto',
    ],
    [
      { 'database-restore': 'auto', 'restore-commands': '/bin/true', 'postgres-url': '' },
      'postgres-url',
      'because database-restore is auto',
    ],
  ])('bad input %j names %s and changes nothing', async (inputs, input, expected) => {
    const before = cluster.sandbox.journal.list().length;
    const result = await rollback(inputs);
    expect(result.exitCode).toBe(1);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toContain(`Input '${input}'`);
    expect(result.errors[0]).toContain(expected);
    expect(cluster.sandbox.journal.list().length).toBe(before);
  });
});
