import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { toolPath } from '@veloz/sandbox';
import { execFile } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CHART, VALUES_PRODUCTION, startCluster, type Cluster } from '../support/cluster';
import { PG_BIN, startPostgres, type PgCluster } from '@veloz/harness/servers/postgres';
import { restoreScriptText } from '@veloz/harness/servers/pitr-restore';

const run = promisify(execFile);
let cluster: Cluster;
let pg: PgCluster;
let restoreScript: string;

beforeAll(async () => {
  [cluster, pg] = await Promise.all([startCluster(), startPostgres({ archive: true })]);
  await cluster.install('1.1.0');
  await cluster.install('1.2.0');
  const backupDir = join(pg.root, 'base');
  await pg.tool('pg_basebackup', ['-h', '127.0.0.1', '-p', String(pg.primary.port), '-D', backupDir, '-X', 'stream']);
  restoreScript = join(pg.root, 'restore_postgres.sh');
  await mkdir(pg.root, { recursive: true });
  await writeFile(restoreScript, restoreScriptText(pg, backupDir));
  await chmod(restoreScript, 0o755);
}, 120_000);

afterAll(async () => {
  await run('runuser', [
    '-u',
    'postgres',
    '--',
    `${PG_BIN}/pg_ctl`,
    'stop',
    '-D',
    pg.primary.dataDir,
    '-m',
    'immediate',
  ]).catch(() => undefined);
  await Promise.all([cluster?.stop(), pg?.stop()]);
});

const replicas = () =>
  (cluster.sandbox.get('deployments', 'veloz', 'veloz-engine') as { spec: { replicas: number } }).spec.replicas;
const pitrRollback = (extra: Record<string, string> = {}) =>
  runActionBundle(
    'rollback',
    {
      reason: 'migration corrupted orders',
      timeout: '30s',
      'database-restore': 'pitr',
      'recovery-time': new Date(Date.now() - 60_000).toISOString(),
      'restore-commands': '/bin/true',
      ...extra,
    },
    { env: cluster.env, timeoutMs: 120_000 },
  );

const setFinalizers = (pod: string, finalizers: string[] | null) =>
  cluster.kubectl([
    'patch',
    'pod',
    pod,
    '-n',
    'veloz',
    '--type=merge',
    '-p',
    JSON.stringify({ metadata: { finalizers } }),
  ]);

describe('runbook §4.4 database rollback', () => {
  test('a failing restore stops the sequence and says the service is down', async () => {
    const revisionsBefore = await cluster.helmRevisions();
    const result = await runActionBundle(
      'rollback',
      {
        reason: 'migration corrupted orders',
        timeout: '60s',
        'database-restore': 'pitr',
        'recovery-time': new Date(Date.now() - 60_000).toISOString(),
        'restore-commands': '/bin/false\n/bin/echo never runs',
      },
      { env: cluster.env, timeoutMs: 120_000 },
    );
    expect(result.exitCode).toBe(1);
    expect(result.errors[0]).toContain('Database restore failed at `/bin/false`');
    expect(result.errors[0]).toContain(
      'The engine is scaled to 0: the service is DOWN. The release was NOT rolled back.',
    );
    expect(result.summary).toMatch(/\| \s*\/bin\/echo never runs \| ◻️ not-run \|/);
    expect(result.summary).toContain('kubectl scale deployment veloz-engine -n veloz --replicas=2');
    expect(
      (cluster.sandbox.get('deployments', 'veloz', 'veloz-engine') as { spec: { replicas: number } }).spec.replicas,
    ).toBe(0);
    // the release was not rolled back: no new helm revision
    expect(await cluster.helmRevisions()).toEqual(revisionsBefore);
    // bring the engine back for the next case, as the on-call engineer would
    await cluster.kubectl(['scale', 'deployment', 'veloz-engine', '-n', 'veloz', '--replicas=2']);
  });

  test('point-in-time recovery: rows after the recovery time are gone, the engine was stopped meanwhile', async () => {
    await pg.sql('CREATE TABLE orders (id serial primary key, note text, created_at timestamptz default now())');
    await pg.sql("INSERT INTO orders (note) VALUES ('before-1'), ('before-2')");
    await new Promise((r) => setTimeout(r, 1100));
    const recoveryTime = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 1100));
    await pg.sql("INSERT INTO orders (note) VALUES ('after-migration')");
    await pg.switchWal();
    await pg.waitForArchive();

    const kubectl = await toolPath('kubectl');
    const result = await runActionBundle(
      'rollback',
      {
        reason: 'migration corrupted orders',
        timeout: '60s',
        'database-restore': 'pitr',
        'recovery-time': recoveryTime,
        'restore-commands': [
          `${kubectl} get pods -n veloz -l app.kubernetes.io/name=veloz -o name`,
          `${restoreScript} -t pitr -T {recovery-time}`,
        ].join('\n'),
        'postgres-url': pg.url('primary'),
        'consistency-query': 'SELECT count(*) AS orders FROM orders',
      },
      { env: cluster.env, timeoutMs: 180_000 },
    );
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    // while the restore ran, no engine pod existed: `kubectl get pods -o name` printed nothing
    expect(result.summary).toMatch(
      /get pods -n veloz -l app\.kubernetes\.io\/name=veloz -o name \| ✅ done \| [^|]+\| exit 0 \|/,
    );
    expect(result.summary).toContain(`restored to ${recoveryTime}`);
    expect(await pg.sql("SELECT string_agg(note, ',' ORDER BY id) FROM orders")).toBe('before-1,before-2');
    expect(result.summary).toMatch(/SELECT count\(\*\) AS orders FROM orders → 2/);
    expect(result.outputs['rolled-back-to']).toBe('revision 1 (v1.1.0)');
    const deployment = cluster.sandbox.get('deployments', 'veloz', 'veloz-engine') as { spec: { replicas: number } };
    expect(deployment.spec.replicas).toBe(2);
    expect(result.summary).toMatch(
      /Stop the engine: scale to 0 and wait until no pod remains \(§4\.4 step 1\) \| ✅ done/,
    );
  });

  test('a green left beside the release is removed before the engine stops, and blue comes back', async () => {
    await cluster.install('1.3.0'); // a new release to roll back from
    const canary = await runActionBundle(
      'canary',
      { phase: 'canary', version: '1.4.0', chart: CHART, 'values-files': VALUES_PRODUCTION, timeout: '60s' },
      { env: cluster.env, timeoutMs: 120_000 },
    );
    expect(canary.errors).toEqual([]);
    expect(cluster.sandbox.get('deployments', 'veloz', 'veloz-engine-green')).toBeDefined();
    const before = replicas();

    const result = await pitrRollback();
    expect(result.errors).toEqual([]);
    expect(result.exitCode).toBe(0);
    // green went first (its pods match blue's selector: "no pod remains" would have waited for them)
    expect(result.summary).toMatch(
      /Remove green veloz-engine-green before stopping the engine \(§4\.4 step 1\) \| ✅ done[\s\S]*Stop the engine/,
    );
    expect(cluster.sandbox.list('deployments', 'veloz').map((d) => d.metadata.name)).not.toContain(
      'veloz-engine-green',
    );
    expect(replicas()).toBe(before);
  }, 180_000);

  test('an engine that cannot be stopped is put back before any restore command runs', async () => {
    await cluster.install('1.5.0');
    const before = replicas();
    // A finalizer keeps one of blue's pods terminating: "wait until no pod remains" cannot finish.
    const [held] = cluster.sandbox
      .list('pods', 'veloz', 'app.kubernetes.io/name=veloz')
      .filter((p) => !(p.metadata as { deletionTimestamp?: string }).deletionTimestamp);
    const name = held!.metadata.name!;
    await setFinalizers(name, ['veloz.io/hold']);
    try {
      const result = await pitrRollback({ timeout: '3s', 'restore-commands': '/bin/echo must not run' });
      expect(result.exitCode).toBe(1);
      expect(result.errors[0]).toContain(`still running after scaling to 0: ${name}`);
      expect(result.errors[0]).toContain(
        `Nothing was restored, so the engine is put back to ${before} replica(s); the release was NOT rolled back.`,
      );
      expect(result.summary).toMatch(
        /\| \s*\/bin\/echo must not run \| ◻️ not-run \||Restore the database[^|]*\| ◻️ not-run/,
      );
      expect(replicas()).toBe(before);
    } finally {
      await setFinalizers(name, null);
    }
  }, 120_000);
});
