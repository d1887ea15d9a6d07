import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { postgresCheck, type PostgresCheckSettings } from '@veloz/shared/data-tier/postgres';
import { startPostgres, type PgCluster } from '@veloz/harness/servers/postgres';
import { freePort } from '@veloz/harness/servers/server-process';
import { expectNoStack, outcomeText, runCheck, silentServer } from './helpers';

const MB = 1024 * 1024;
const settings = (url: string, over: Partial<PostgresCheckSettings> = {}): PostgresCheckSettings => ({
  url,
  minStandbys: 1,
  maxReplicationLagBytes: MB,
  maxWalAgeMs: 5 * 60_000,
  timeoutMs: 10_000,
  ...over,
});

describe('postgres check against a primary with a streaming standby and WAL archiving', () => {
  let pg: PgCluster;
  beforeAll(async () => {
    pg = await startPostgres({ standby: true, archive: true });
  });
  afterAll(async () => {
    await pg?.stop();
  });

  test('healthy cluster passes and reports sync_state and lag', async () => {
    const o = await runCheck(postgresCheck(settings(pg.url())));
    expect(o.status).toBe('pass');
    expect(o.observed).toMatch(/1\/1 streaming \(walreceiver async lag \d+/);
    expect(o.observed).toMatch(/WAL archived/);
    const data = o.data as { standbys: { state: string; syncState: string }[] };
    expect(data.standbys).toEqual([expect.objectContaining({ state: 'streaming', syncState: 'async' })]);
  });

  test('a password URL works and the password never appears in the outcome', async () => {
    const url = await pg.createUser('preflight', 's3cr3t-pw', { monitor: true });
    const o = await runCheck(postgresCheck(settings(url)));
    expect(o.status).toBe('pass');
    expect(outcomeText(o)).not.toContain('s3cr3t-pw');
    expect(o.data?.server).toBe(`preflight@127.0.0.1:${pg.primary.port}/postgres`);

    const bad = await runCheck(postgresCheck(settings(url.replace('s3cr3t-pw', 'wrong-pw'))));
    expect(bad.status).toBe('fail');
    expect(bad.observed).toMatch(/authentication failed/);
    expect(outcomeText(bad)).not.toContain('wrong-pw');
  });

  test('a user without pg_monitor is told to get it, instead of seeing no standbys', async () => {
    const url = await pg.createUser('nomonitor', 'another-pw');
    const o = await runCheck(postgresCheck(settings(url)));
    expect(o.status).toBe('fail');
    expect(o.detail).toMatch(/pg_monitor/);
  });

  test('pointing at the standby fails: replication is only visible on the primary', async () => {
    const o = await runCheck(postgresCheck(settings(pg.url('standby'))));
    expect(o.status).toBe('fail');
    expect(o.observed).toMatch(/is a standby/);
  });

  test('a standby whose replay is paused lags beyond the limit', async () => {
    await pg.pauseReplay();
    try {
      await pg.writeWal(3 * MB);
      const o = await runCheck(postgresCheck(settings(pg.url())));
      expect(o.status).toBe('fail');
      expect(o.detail).toMatch(/walreceiver replay lag [\d.]+ MB exceeds 1.05 MB/);
      expect((o.data as { standbys: { replayLagBytes: number }[] }).standbys[0]!.replayLagBytes).toBeGreaterThan(MB);
    } finally {
      await pg.resumeReplay();
    }
  });

  test('a failing archive_command fails the check, and recovery clears it', async () => {
    await pg.breakArchiving();
    const o = await runCheck(postgresCheck(settings(pg.url())));
    expect(o.status).toBe('fail');
    expect(o.detail).toMatch(/WAL archiving is failing: last attempt for [0-9A-F]{24} failed after the last success/);
    await pg.fixArchiving();
    // The archiver settles asynchronously (a retried segment may still be in flight): give it a moment.
    let after = await runCheck(postgresCheck(settings(pg.url())));
    for (let i = 0; i < 20 && after.status !== 'pass'; i++) {
      await new Promise((r) => setTimeout(r, 500));
      after = await runCheck(postgresCheck(settings(pg.url())));
    }
    expect({ status: after.status, detail: after.detail }).toMatchObject({ status: 'pass' });
  });

  test('an archive older than max-wal-age fails', async () => {
    // An earlier test's WAL switches may still be archiving this very moment: let a few ms pass.
    await new Promise((r) => setTimeout(r, 50));
    const o = await runCheck(postgresCheck(settings(pg.url(), { maxWalAgeMs: 1 })));
    expect(o.status).toBe('fail');
    expect(o.detail).toMatch(/last archived WAL [0-9A-F]{24}\S* is .* old, limit 1ms/);
  });

  test('a stopped standby fails with how many are streaming', async () => {
    await pg.stopStandby();
    const o = await runCheck(postgresCheck(settings(pg.url())));
    expect(o.status).toBe('fail');
    expect(o.detail).toMatch(/0 standby\(s\) streaming, need at least 1/);
    expect(o.observed).toMatch(/no standby streaming/);
  });
});

describe('postgres check: archiving off, server down, hanging server', () => {
  let pg: PgCluster;
  beforeAll(async () => {
    pg = await startPostgres({ standby: false, archive: false });
  });
  afterAll(async () => {
    await pg?.stop();
  });

  test('archiving off says so and fails (no PITR without an archive)', async () => {
    const o = await runCheck(postgresCheck(settings(pg.url(), { minStandbys: 0 })));
    expect(o.status).toBe('fail');
    expect(o.detail).toMatch(/WAL archiving is off \(archive_mode=off\)/);
    expect(o.observed).toMatch(/archiving off/);
  });

  test('a server that is down is a failed check with host, port, code and hint', async () => {
    const port = await freePort();
    const o = await runCheck(postgresCheck(settings(`postgres://veloz:pw-down@127.0.0.1:${port}/veloz`)));
    expect(o.status).toBe('fail');
    expect(o.detail).toContain(`veloz@127.0.0.1:${port}/veloz`);
    expect(o.detail).toMatch(/ECONNREFUSED — nothing is listening there/);
    expect(outcomeText(o)).not.toContain('pw-down');
    expectNoStack(o);
  });

  test('a hanging server: the check gives up when its signal aborts', async () => {
    const silent = await silentServer();
    try {
      const check = postgresCheck(settings(`postgres://veloz@127.0.0.1:${silent.port}/veloz`, { timeoutMs: 60_000 }));
      const o = await runCheck(check, { abortAfterMs: 300 });
      expect(o.status).toBe('fail');
      expect(o.detail).toMatch(new RegExp(`127\\.0\\.0\\.1:${silent.port}/veloz: ABORT_ERR .*the check was cancelled`));
      expectNoStack(o);
    } finally {
      await silent.close();
    }
  });
});
