/**
 * Issue 13 on the sandbox, through the committed-style bundles: a rollback preempts a canary
 * mid-rollout, a hung API server ends each action with a clear error, a locked table cannot block
 * the rollback, and validate leaves no PostgreSQL connection behind.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import pg from 'pg';
import {
  CANARY_USER,
  CHART,
  preemptableCanary,
  startCluster,
  VALUES_PRODUCTION,
  type Cluster,
} from '../support/cluster';
import { startPostgres, type PgCluster } from '@veloz/harness/servers/postgres';

let cluster: Cluster;
let db: PgCluster;

beforeAll(async () => {
  [cluster, db] = await Promise.all([startCluster(), startPostgres({ archive: false })]);
  await db.sql('CREATE TABLE orders (id serial primary key, note text)');
  await db.sql("INSERT INTO orders (note) VALUES ('a'), ('b')");
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
  await db?.stop();
});
beforeEach(async () => {
  cluster.sandbox.faults.clear();
  await cluster.install('1.1.0');
  await cluster.install('1.2.0');
}, 120_000);

const openConnections = async (): Promise<number> =>
  Number(await db.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'veloz-deploy-actions'"));

describe('a manual rollback preempts a canary mid-rollout', () => {
  test('the canary is fenced: helm interrupted, no write after the takeover, one revision after the rollback', async () => {
    const inputs = preemptableCanary(cluster.sandbox, '30s', { 'lock-ttl': '10s', timeout: '2m' });
    const before = (await cluster.helmRevisions()).at(-1)!.revision;
    const canary = runActionBundle('canary', inputs, {
      env: { ...cluster.env, GITHUB_RUN_ID: '1001' },
      timeoutMs: 150_000,
    });
    // mid-rollout: helm has written the new revision and waits for the slow-starting pod
    const until = Date.now() + 60_000;
    while (Date.now() < until && (await cluster.helmRevisions()).at(-1)?.status !== 'pending-upgrade') {
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await cluster.helmRevisions()).at(-1)?.status).toBe('pending-upgrade');
    const rollback = await runActionBundle(
      'rollback',
      { reason: 'preempting the canary', force: 'true', timeout: '60s' },
      { env: cluster.env, timeoutMs: 150_000 },
    );
    const fenced = await canary;
    expect(rollback.errors).toEqual([]);
    expect(rollback.exitCode).toBe(0);
    expect(fenced.exitCode).toBe(1);
    expect(fenced.errors[0]).toMatch(
      /^lost the release lock to rollback run \S+ by \S+ at \d{4}-\d\d-\d\dT[\d:.]+Z: stopped before the rest of the rollout of veloz-engine/,
    );
    const takeover = cluster.sandbox.journal
      .list({ verb: 'update', resource: 'leases' })
      .find((e) => e.user !== CANARY_USER);
    expect(takeover).toBeDefined();
    const canaryWritesAfter = cluster.sandbox.journal.list().filter(
      (e) =>
        e.user === CANARY_USER &&
        e.time > takeover!.time &&
        ['create', 'update', 'patch', 'delete'].includes(e.verb) &&
        !(e.resource === 'secrets' && e.verb === 'update') && // helm marking its own release failed on SIGTERM
        e.resource !== 'leases',
    );
    expect(canaryWritesAfter).toEqual([]);
    // the canary said on the lease that it had stopped, after its helm had exited (helm's last write,
    // marking its release failed on SIGTERM, comes first), and the rollback started on that word
    const canaryWrites = cluster.sandbox.journal
      .list()
      .filter((e) => e.user === CANARY_USER && ['create', 'update', 'patch'].includes(e.verb));
    expect(canaryWrites.at(-1)?.resource).toBe('leases');
    expect(rollback.stdout).toMatch(/canary canary run \S+ by \S+ has stopped \(\d+s\): writing now/);
    // helm history: the canary's revision (interrupted), then the rollback's, and nothing after it
    const revisions = (await cluster.helmRevisions()).filter((r) => r.revision > before);
    expect(revisions.map((r) => r.revision)).toEqual([before + 1, before + 2]);
    expect(revisions[1]!.status).toBe('deployed');
    expect(rollback.outputs['rolled-back-to']).toBe(`revision ${before} (v1.2.0)`);
    const image = (
      cluster.sandbox.get('deployments', 'veloz', 'veloz-engine') as {
        spec: { template: { spec: { containers: { image: string }[] } } };
      }
    ).spec.template.spec.containers[0]!.image;
    expect(image).toBe('veloz/engine:1.2.0');
  }, 300_000);
});

describe('a hung API server ends each action with a clear error', () => {
  test('--hang on deployments get: the canary names the call that hung, well inside its timeout', async () => {
    cluster.sandbox.faults.add({ verbs: ['get'], resources: ['deployments'], action: { type: 'hang' } });
    const t0 = Date.now();
    const run = await runActionBundle(
      'canary',
      {
        version: '1.3.0',
        chart: CHART,
        'values-files': VALUES_PRODUCTION,
        phase: 'canary',
        strategy: 'in-place',
        timeout: '5m',
      },
      { env: cluster.env, timeoutMs: 150_000 },
    );
    cluster.sandbox.faults.clear();
    expect(run.exitCode).toBe(1);
    expect(run.errors[0]).toMatch(
      /Kubernetes API readNamespacedDeployment \(GET \/apis\/apps\/v1\/namespaces\/veloz\/deployments\/veloz-engine\): no answer from the API server within 30s, 2 attempts over \d+s/,
    );
    expect(Date.now() - t0).toBeLessThan(120_000);
  }, 200_000);

  test('--hang on lease update: the holder cannot renew, so it stops when its lease lapses', async () => {
    cluster.sandbox.setProfile('veloz/engine:1.3.0', 'healthy:start=40s');
    cluster.sandbox.faults.add({ verbs: ['update'], resources: ['leases'], action: { type: 'hang' } });
    const run = await runActionBundle(
      'canary',
      {
        version: '1.3.0',
        chart: CHART,
        'values-files': VALUES_PRODUCTION,
        phase: 'canary',
        strategy: 'in-place',
        'lock-ttl': '10s',
        timeout: '2m',
      },
      { env: cluster.env, timeoutMs: 150_000 },
    );
    cluster.sandbox.faults.clear();
    expect(run.exitCode).toBe(1);
    expect(run.errors[0]).toMatch(
      /^lost the release lock to no one \(the lease expired unrenewed; last renewal error: .+\) at \S+: stopped before/,
    );
    expect((await cluster.helmRevisions()).at(-1)?.status).toBe('failed');
  }, 200_000);
});

describe('database calls are bounded and read-only', () => {
  test('a table held in ACCESS EXCLUSIVE: the consistency query times out, the rollback completes and says so', async () => {
    const holder = new pg.Client({ connectionString: db.url('primary') });
    await holder.connect();
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
    // A release that needs rolling back (the earlier cases may have left it rolled back already).
    await cluster.install('1.4.0');
    try {
      const run = await runActionBundle(
        'rollback',
        {
          reason: 'locked table',
          timeout: '60s',
          'postgres-url': db.url('primary'),
          'consistency-query': 'SELECT count(*) AS orders FROM orders',
        },
        { env: cluster.env, timeoutMs: 150_000 },
      );
      expect(run.errors).toEqual([]);
      expect(run.exitCode).toBe(0);
      expect(run.warnings.join('\n')).toMatch(
        /Post-rollback consistency query failed: the query did not finish within 10s \(statement_timeout; is a table locked\?\)/,
      );
      expect(run.summary).toMatch(/Data consistency query \(§4\.5 step 2\) \| ❌/);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    expect(await openConnections()).toBe(0);
  });

  test('validate over 20 passes leaves no PostgreSQL connection open', async () => {
    const run = await runActionBundle(
      'validate',
      {
        pod: 'canary',
        checks: 'consistency',
        'postgres-url': db.url('primary'),
        'consistency-query': 'SELECT count(*) > 0 AS ok FROM orders',
        duration: '5s',
        interval: '200ms',
        'check-timeout': '5s',
      },
      { env: cluster.env, timeoutMs: 120_000 },
    );
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect((run.stdout.match(/consistency=pass/g) ?? []).length).toBeGreaterThanOrEqual(20);
    expect(await openConnections()).toBe(0);
  });
});
