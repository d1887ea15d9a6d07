/**
 * The demo's data tier: a real PostgreSQL primary with a streaming standby and WAL archiving, and a real
 * Redis master + replica watched by three Sentinels, all on 127.0.0.1 (the servers the tests start). An
 * idle pool of the engine's sessions stands in for the engine's connections, so preflight records a
 * count and validate holds every pass to it: all ten runbook §3.4 items are decided.
 */
import pg from 'pg';
import { startPostgres } from '@veloz/harness/servers/postgres';
import { startRedisSentinel } from '@veloz/harness/servers/redis';
import { startTogether } from '@veloz/harness/servers/server-process';

export const ENGINE_APPLICATION_NAME = 'veloz-engine';
const ENGINE_POOL = 4;

export interface DemoDataTier {
  /** deploy.yml's data-tier `with:` values, shared by preflight and both validations. */
  inputs: Record<string, string>;
  describe: string;
  stop(): Promise<void>;
}

export async function startDemoDataTier(): Promise<DemoDataTier> {
  const [db, redis] = await startTogether([startPostgres({ standby: true }), startRedisSentinel()]);
  const pool: pg.Client[] = [];
  try {
    for (let i = 0; i < ENGINE_POOL; i++) {
      const client = new pg.Client({ connectionString: db.url('primary'), application_name: ENGINE_APPLICATION_NAME });
      client.on('error', () => undefined);
      await client.connect();
      pool.push(client);
    }
  } catch (error) {
    await Promise.all([db.stop(), redis.stop()]);
    throw error;
  }
  return {
    inputs: {
      'postgres-url': db.url('primary'),
      'postgres-application-name': ENGINE_APPLICATION_NAME,
      'sentinel-addresses': redis.sentinelAddresses.join(','),
    },
    describe: `PostgreSQL primary :${db.primary.port} + standby :${db.standby!.port} (${ENGINE_POOL} engine sessions) · Redis Sentinel ${redis.sentinelAddresses.join(', ')}`,
    async stop() {
      await Promise.all(pool.map((c) => c.end().catch(() => undefined)));
      await Promise.all([db.stop(), redis.stop()]);
    },
  };
}
