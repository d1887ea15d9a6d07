import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { redisCheck, type RedisCheckSettings } from '@veloz/shared/data-tier/redis';
import { startRedisSentinel, type RedisSentinelCluster } from '@veloz/harness/servers/redis';
import { freePort } from '@veloz/harness/servers/server-process';
import { expectNoStack, outcomeText, runCheck, silentServer } from './helpers';

const PASSWORD = 'sentinel-s3cret';

describe('redis check against master + 2 replicas + 3 sentinels', () => {
  let redis: RedisSentinelCluster;
  const settings = (over: Partial<RedisCheckSettings> = {}): RedisCheckSettings => ({
    sentinels: redis.sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
    masterName: 'veloz-master',
    password: PASSWORD,
    minReplicas: 1,
    timeoutMs: 5000,
    ...over,
  });

  beforeAll(async () => {
    redis = await startRedisSentinel({ replicas: 2, password: PASSWORD });
  });
  afterAll(async () => {
    await redis?.stop();
  });

  test('healthy: flags master, quorum, replicas, agreement', async () => {
    const o = await runCheck(redisCheck(settings()));
    expect(o.status).toBe('pass');
    const master = await redis.currentMasterPort();
    expect(o.observed).toBe(
      `master 127.0.0.1:${master} flags master; 2 replica(s) up; 3/3 sentinels answered, agree; quorum OK`,
    );
    expect(o.data?.masterProbe).toBe('master');
    expect(outcomeText(o)).not.toContain(PASSWORD);
  });

  test('fewer live replicas than min-redis-replicas fails', async () => {
    const o = await runCheck(redisCheck(settings({ minReplicas: 3 })));
    expect(o.status).toBe('fail');
    expect(o.detail).toMatch(/sees 2 replica\(s\) up, need 3/);
  });

  test('an unknown master name and a wrong password fail with what the sentinel said', async () => {
    const unknown = await runCheck(redisCheck(settings({ masterName: 'nope' })));
    expect(unknown.status).toBe('fail');
    expect(unknown.detail).toMatch(/No such master with that name/);

    const wrong = await runCheck(redisCheck(settings({ password: 'not-the-password' })));
    expect(wrong.status).toBe('fail');
    expect(wrong.detail).toMatch(/rejected the password/);
    expect(outcomeText(wrong)).not.toContain('not-the-password');

    const none = await runCheck(redisCheck(settings({ password: undefined })));
    expect(none.status).toBe('fail');
    expect(none.detail).toMatch(/NOAUTH.*set sentinel-password/);
  });

  test('a configured sentinel that is down fails the check, naming it', async () => {
    const port = await freePort();
    const o = await runCheck(
      redisCheck(settings({ sentinels: [...settings().sentinels, { host: '127.0.0.1', port }] })),
    );
    expect(o.status).toBe('fail');
    expect(o.observed).toMatch(/3\/4 sentinels answered/);
    expect(o.detail).toContain(`127.0.0.1:${port}: ECONNREFUSED`);
  });

  test('the master is killed: no pass with the stale master during failover; after it, pass with the new master', async () => {
    const old = await redis.killMaster();
    // Right after the crash the sentinels may still list the old master: the check must not pass.
    const during = await runCheck(redisCheck(settings()));
    expect(during.status).toBe('fail');
    expect(during.detail).toMatch(new RegExp(`127\\.0\\.0\\.1:${old}`));

    // Keep checking while Sentinel fails over: a pass must never name the dead master.
    let failedOver = false;
    const failover = redis.waitForFailover(old).then((p) => {
      failedOver = true;
      return p;
    });
    const seen: string[] = [];
    while (!failedOver) {
      const o = await runCheck(redisCheck(settings()));
      seen.push(o.status);
      if (o.status === 'pass') expect(o.data?.master).not.toBe(`127.0.0.1:${old}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const newPort = await failover;
    expect(newPort).not.toBe(old);
    expect(seen).toContain('fail');

    // The surviving replica is reconfigured to follow the new master; then the check passes.
    let after = await runCheck(redisCheck(settings()));
    // Up to 30 s: on a loaded machine the replica's resync with the new master can take a while.
    for (let i = 0; i < 120 && after.status !== 'pass'; i++) {
      await new Promise((r) => setTimeout(r, 250));
      after = await runCheck(redisCheck(settings()));
    }
    expect({ status: after.status, detail: after.detail }).toEqual({ status: 'pass', detail: after.detail });
    expect(after.data?.master).toBe(`127.0.0.1:${newPort}`);
    expect(after.observed).toMatch(/1 replica\(s\) up/);
  });
});

describe('redis check: nothing listening, hanging sentinel', () => {
  test('all sentinels down: failed check with host, port, error code and hint', async () => {
    const ports = [await freePort(), await freePort()];
    const o = await runCheck(
      redisCheck({
        sentinels: ports.map((port) => ({ host: '127.0.0.1', port })),
        masterName: 'veloz-master',
        minReplicas: 1,
        timeoutMs: 3000,
      }),
    );
    expect(o.status).toBe('fail');
    expect(o.observed).toBe('0/2 sentinels answered');
    for (const p of ports) expect(o.detail).toContain(`127.0.0.1:${p}: ECONNREFUSED — nothing is listening there`);
    expectNoStack(o);
  });

  test('a sentinel that accepts and never answers: the check stops when its signal aborts', async () => {
    const silent = await silentServer();
    try {
      const check = redisCheck({
        sentinels: [{ host: '127.0.0.1', port: silent.port }],
        masterName: 'veloz-master',
        minReplicas: 1,
        timeoutMs: 60_000,
      });
      const o = await runCheck(check, { abortAfterMs: 300 });
      expect(o.status).toBe('fail');
      expect(o.detail).toMatch(new RegExp(`127\\.0\\.0\\.1:${silent.port}: ABORT_ERR`));
    } finally {
      await silent.close();
    }
  });
});
