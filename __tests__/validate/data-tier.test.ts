/**
 * Validate's data tier after the deploy (runbook §3.4 items 8–10, §4.1 data inconsistency) against a
 * real PostgreSQL primary + streaming standby and a real Redis master + replica + 3 Sentinels.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import pg from 'pg';
import type { RunContext, RunResult } from '@veloz/shared/contract';
import { systemClock } from '@veloz/shared/clock';
import { renderSummary } from '@veloz/shared/report';
import { parsePreflightInputs } from '../../actions/preflight/src/inputs';
import { run as runPreflight } from '../../actions/preflight/src/run';
import { parseValidateInputs } from '../../actions/validate/src/inputs';
import { run as runValidate } from '../../actions/validate/src/run';
import { dataTierCriterion } from '../../actions/validate/src/decision';
import type { Sample } from '../../actions/validate/src/sample';
import { startPostgres, type PgCluster } from '@veloz/harness/servers/postgres';
import { startRedisSentinel, type RedisSentinelCluster } from '@veloz/harness/servers/redis';
import { inputsWithDefaults } from '../support/settings';
import { readInputs } from '@veloz/shared/inputs';
import { loadActionMetadata } from '@veloz/harness';

const ENGINE_USER = 'veloz_engine';
const ENGINE_PASSWORD = 'engine-pw-7d1f';
const MB = 1024 * 1024;

function context(lines: string[]): RunContext {
  return {
    clock: systemClock,
    log: {
      info: (m) => lines.push(m),
      warning: (m) => lines.push(`warning: ${m}`),
      debug: () => undefined,
      group: (_name, fn) => fn(),
    },
    workflowRun: {
      repository: 'veloz/engine',
      runId: '1',
      runAttempt: '1',
      runUrl: 'https://github.com/veloz/engine/actions/runs/1',
      actor: 'test',
      sha: 'a'.repeat(40),
      ref: 'refs/heads/main',
      workflow: 'deploy',
      job: 'validate',
      serverUrl: 'https://github.com',
      apiUrl: 'https://api.github.com',
    },
    tempDir: '/tmp',
  };
}

describe('validate: the data tier after the deploy', () => {
  let db: PgCluster;
  let redis: RedisSentinelCluster;
  let engineUrl: string;
  const engine: pg.Client[] = [];

  /** Opens `n` idle sessions as the engine's user (its connection pool). */
  async function openEngineSessions(n: number): Promise<pg.Client[]> {
    const opened: pg.Client[] = [];
    for (let i = 0; i < n; i++) {
      const c = new pg.Client({ connectionString: engineUrl, application_name: 'veloz-engine' });
      c.on('error', () => undefined);
      await c.connect();
      opened.push(c);
    }
    engine.push(...opened);
    return opened;
  }

  async function validate(
    inputs: Record<string, string>,
  ): Promise<{ result: RunResult; summary: string; log: string }> {
    const reader = await inputsWithDefaults('validate', {
      url: 'http://127.0.0.1:9', // never contacted: only the data-tier checks run
      checks: 'postgres,redis',
      'postgres-url': db.url('primary'),
      'postgres-user': ENGINE_USER,
      'postgres-connections': '2',
      'sentinel-addresses': redis.sentinelAddresses.join(','),
      'check-timeout': '10s',
      ...inputs,
    });
    const settings = await parseValidateInputs(reader, () => undefined);
    const lines: string[] = [];
    const result = await runValidate(settings, context(lines));
    return { result, summary: renderSummary(result.report), log: lines.join('\n') };
  }

  const checklist = (summary: string, item: string): string =>
    summary.split('\n').find((l) => l.includes(item)) ?? `(no line for ${item})`;

  beforeAll(async () => {
    [db, redis] = await Promise.all([startPostgres({ standby: true, archive: false }), startRedisSentinel()]);
    engineUrl = await db.createUser(ENGINE_USER, ENGINE_PASSWORD);
    await openEngineSessions(2);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(engine.map((c) => c.end().catch(() => undefined)));
    await Promise.all([db?.stop(), redis?.stop()]);
  });

  test('preflight records the engine sessions it counted as the postgres-connections output', async () => {
    const reader = await inputsWithDefaults('preflight', {
      checks: 'postgres',
      'postgres-url': db.url('primary'),
      'postgres-user': ENGINE_USER,
      'max-wal-age': '5m',
    });
    const settings = parsePreflightInputs(reader, () => undefined);
    const result = await runPreflight(settings, context([]));
    expect(result.outputs['postgres-connections']).toBe('2');
    expect(result.report.checks[0]!.observed).toMatch(/engine connections 2, server \d+\/30/);
  });

  test('a healthy tier passes and ticks §3.4 items 8–10; the round-trip key is gone afterwards', async () => {
    const { result, summary } = await validate({});
    expect(result.outputs.verdict).toBe('pass');
    const [postgres, redisCheck] = result.report.checks;
    expect(postgres!.status).toBe('pass');
    expect(postgres!.observed).toMatch(/1\/1 streaming .*engine connections 2 \(baseline 2\), server \d+\/30/);
    expect(redisCheck!.status).toBe('pass');
    expect(redisCheck!.observed).toMatch(/quorum OK; SET\/GET\/DEL ok in \d+ms/);
    for (const item of ['Database connections stable', 'Redis operations working', 'Replication lag'])
      expect(checklist(summary, item)).toMatch(/^- \[x\]/);
    const master = await redis.currentMasterPort();
    expect(await redis.command(master, 'KEYS', 'veloz:deploy-check:*')).toEqual([]);
  });

  test('a stopped standby fails postgres and the replication item, and decides rollback (data inconsistency)', async () => {
    await db.stopStandby();
    try {
      const { result, summary } = await validate({ checks: 'postgres' });
      const check = result.report.checks[0]!;
      expect(check.status).toBe('fail');
      expect(check.detail).toMatch(/0 standby\(s\) streaming, need at least 1/);
      expect(checklist(summary, 'Replication lag')).toMatch(/^- \[ \] .*postgres: fail \(0\/1 streaming/);
      expect(checklist(summary, 'Database connections stable')).toMatch(/^- \[x\]/);
      expect(result.outputs.verdict).toBe('rollback');
      expect(result.outputs.reasons).toMatch(/data inconsistency/);
    } finally {
      await db.startStandby();
    }
  }, 60_000);

  test('a paused WAL replay lagging beyond 1MB fails with the lag in the message', async () => {
    await db.pauseReplay();
    try {
      await db.writeWal(3 * MB);
      const { result, summary } = await validate({ checks: 'postgres' });
      const check = result.report.checks[0]!;
      expect(check.status).toBe('fail');
      expect(check.detail).toMatch(/walreceiver replay lag [\d.]+ MB exceeds 1 MB/);
      expect(checklist(summary, 'Replication lag')).toMatch(/^- \[ \] .*lag [\d.]+ MB/);
    } finally {
      await db.resumeReplay();
    }
  }, 60_000);

  test('a connection storm as the engine user fails "database connections stable" naming the figure', async () => {
    const storm = await openEngineSessions(10);
    try {
      const { result, summary } = await validate({ checks: 'postgres' });
      const check = result.report.checks[0]!;
      expect(check.status).toBe('fail');
      expect(check.detail).toMatch(
        /engine connections \(user veloz_engine\) moved from 2 before the deploy to 12: above the band 0–4 \(±50%\) — a connection leak\?/,
      );
      expect(checklist(summary, 'Database connections stable')).toMatch(/^- \[ \] .*engine connections 12/);
      expect(checklist(summary, 'Replication lag')).toMatch(/^- \[x\]/);
      // up to the server's limit (30 less 3 reserved; this check's own session is the 27th): named too
      const more = await openEngineSessions(14);
      try {
        const full = await validate({ checks: 'postgres' });
        expect(full.result.report.checks[0]!.detail).toMatch(
          /the server is at max_connections: \d+ client sessions of 30/,
        );
      } finally {
        await Promise.all(more.map((c) => c.end()));
      }
    } finally {
      await Promise.all(storm.map((c) => c.end()));
      engine.splice(2);
    }
  }, 60_000);

  test('a killed Redis master fails in two passes in a row: rollback for data inconsistency', async () => {
    const old = await redis.killMaster();
    try {
      const { result, summary, log } = await validate({ checks: 'redis', duration: '500ms', interval: '500ms' });
      expect(log).toMatch(/pass 1 at \+0s: redis=fail/);
      expect(log).toMatch(/pass 2 at \+500ms: redis=fail/);
      expect(result.outputs.verdict).toBe('rollback');
      expect(result.outputs.reasons).toMatch(
        new RegExp(
          `Data tier failing in two passes in a row \\(runbook §4.1 data inconsistency → immediate rollback\\): redis: .*127.0.0.1:${old}`,
        ),
      );
      expect(checklist(summary, 'Redis operations working')).toMatch(/^- \[ \] .*redis: fail/);
      expect(result.failure).toMatch(/^Verdict ROLLBACK/);
    } finally {
      await redis.waitForFailover(old);
      await redis.restartNode(old);
      await redis.waitHealthy();
    }
  }, 90_000);

  test('after the failover the round trip runs on the new master', async () => {
    const { result } = await validate({ checks: 'redis' });
    expect(result.report.checks[0]!.status).toBe('pass');
    expect(result.report.checks[0]!.data?.master).toBe(`127.0.0.1:${await redis.currentMasterPort()}`);
  });
});

describe('§4.1 data inconsistency from the data tier (the rule alone)', () => {
  const sample = (at: number, dataTierFailures: Record<string, string>): Sample => ({
    at,
    functionalFailures: {},
    dataTierFailures,
  });

  test('one failing pass followed by a good one decides nothing; the same check failing twice decides rollback', () => {
    expect(dataTierCriterion([sample(0, { postgres: 'lag 3 MB' }), sample(1, {})], false)).toBeUndefined();
    expect(dataTierCriterion([sample(0, {}), sample(1, { postgres: 'lag 3 MB' })], false)).toBeUndefined();
    const met = dataTierCriterion([sample(0, { postgres: 'lag 3 MB' }), sample(1, { postgres: 'lag 4 MB' })], false);
    expect(met).toMatchObject({ criterion: 'data-inconsistency', action: 'rollback', since: 0, metAt: 1 });
    expect(met!.reason).toMatch(/postgres: lag 4 MB/);
  });

  test('postgres then redis failing are two blips, not a repeated failure; a single-pass run decides on its pass', () => {
    expect(dataTierCriterion([sample(0, { postgres: 'x' }), sample(1, { redis: 'y' })], false)).toBeUndefined();
    expect(dataTierCriterion([sample(0, { redis: 'y' })], true)?.reason).toMatch(/in the only validation pass/);
  });
});

describe('bad data-tier inputs: one clear error each, naming input, value and what is expected', () => {
  test('postgres-connections, connections-band, max-replication-lag and redis-test-prefix', async () => {
    const meta = await loadActionMetadata('validate');
    const values: Record<string, string> = {
      ...Object.fromEntries(Object.entries(meta.inputs).map(([name, input]) => [name, input.default ?? ''])),
      kubeconfig: 'in-cluster',
      url: 'http://127.0.0.1:9',
      'postgres-url': 'postgres://veloz:hunter2@db:5432/veloz',
      'postgres-connections': 'ten',
      'connections-band': '150%',
      'max-replication-lag': '1 lightyear',
      'sentinel-addresses': 'redis-sentinel-0:26379',
      'redis-test-prefix': 'deploy check:',
    };
    const source = (name: string): string => values[name] ?? '';
    const { settings, errors } = await readInputs(parseValidateInputs, source);
    expect(settings).toBeUndefined();
    expect(errors.map((e) => e.input)).toEqual([
      'max-replication-lag',
      'postgres-connections',
      'connections-band',
      'redis-test-prefix',
    ]);
    expect(errors.map((e) => e.message).join('\n')).toMatch(/Input 'postgres-connections' has value "ten": expected/);
    expect(errors.map((e) => e.message).join('\n')).toMatch(
      /Input 'connections-band' has value "150%": expected .*at most 100%/,
    );
    expect(errors.map((e) => e.message).join('\n')).toMatch(
      /Input 'redis-test-prefix' has value "deploy check:": expected a key prefix without spaces/,
    );
    expect(errors.map((e) => e.message).join('\n')).not.toContain('hunter2');
  });
});
