import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { stageRules } from '@veloz/shared/kube/permissions';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type Cluster } from '../support/cluster';
import { startPostgres, type PgCluster } from '@veloz/harness/servers/postgres';
import { startRedisSentinel, type RedisSentinelCluster } from '@veloz/harness/servers/redis';
import { startRegistry, type TestRegistry } from '@veloz/harness/servers/registry';

const KUBE_CHECKS = { checks: 'cluster, capacity, release, rbac' };
// A Tuesday inside the runbook's 10:00-14:00 UTC window.
const IN_WINDOW = { 'evaluate-at': '2026-11-24T11:00:00Z' };

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster();
  await cluster.install('1.1.0');
}, 120_000);
afterAll(async () => cluster?.stop());

function preflight(inputs: Record<string, string>, env: Record<string, string> = cluster.env) {
  return runActionBundle('preflight', { ...IN_WINDOW, ...inputs }, { env, timeoutMs: 120_000 });
}

describe('runbook §1 checklist on a healthy cluster', () => {
  test('cluster, capacity, release, rbac and window pass; what runs now is reported', async () => {
    const run = await preflight({ checks: 'cluster, capacity, release, rbac, window', 'credential-stage': 'promote' });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.outputs).toMatchObject({
      ready: 'true',
      'failed-checks': '',
      'current-image': 'veloz/engine:1.1.0',
      'current-revision': '1',
    });
    expect(run.summary).toContain(
      '| Kubernetes cluster healthy | ✅ pass | 2/2 nodes Ready; veloz-engine: veloz/engine:1.1.0',
    );
    expect(run.summary).toMatch(/\| Helm release \| ✅ pass \| revision 1 deployed \(veloz-0\.1\.0/);
    expect(run.summary).toMatch(
      /\| Deploy credentials \(RBAC, promote stage\) \| ✅ pass \| (\d+)\/\1 permissions of the promote stage granted/,
    );
  });

  test('a green Deployment left by a crashed canary is a warning with the command that removes it', async () => {
    cluster.sandbox.apply({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'veloz-engine-green', namespace: 'veloz', labels: { 'veloz.io/track': 'green' } },
      spec: {
        replicas: 0,
        selector: { matchLabels: { 'veloz.io/track': 'green', 'veloz.io/green-of': 'veloz-engine' } },
        template: {
          metadata: { labels: { 'veloz.io/track': 'green', 'veloz.io/green-of': 'veloz-engine' } },
          spec: { containers: [{ name: 'veloz-engine', image: 'veloz/engine:1.2.0' }] },
        },
      },
    });
    try {
      const run = await preflight({ checks: 'release' });
      expect(run.errors).toEqual([]);
      expect(run.exitCode).toBe(0);
      expect(run.summary).toMatch(
        /\| Helm release \| ⚠️ warn \| revision 1 deployed .*green veloz-engine-green left over \(0 ready × veloz\/engine:1\.2\.0\)/,
      );
      expect(run.summary).toContain('kubectl delete deployment/veloz-engine-green -n veloz');
    } finally {
      cluster.sandbox.remove('deployments', 'veloz', 'veloz-engine-green');
    }
  });

  test('more replicas than the nodes can hold fail the capacity check', async () => {
    const run = await preflight({ checks: 'capacity', replicas: '5000' });
    expect(run.exitCode).toBe(1);
    expect(run.outputs['failed-checks']).toBe('capacity');
    expect(run.errors[0]).toMatch(/capacity: Only \d+ of \d+ pods fit on the Ready nodes/);
  });

  test('a NotReady node is named with its reason', async () => {
    const node = cluster.sandbox.get('nodes', undefined, 'sandbox-node-2') as {
      status: { conditions: { type: string; status: string; reason?: string; message?: string }[] };
    };
    const saved = structuredClone(node) as unknown as { metadata: object };
    const ready = node.status.conditions.find((c) => c.type === 'Ready')!;
    Object.assign(ready, { status: 'False', reason: 'KubeletNotReady', message: 'container runtime is down' });
    const put = (body: unknown) => cluster.sandbox.request('PUT', '/api/v1/nodes/sandbox-node-2/status', body);
    expect((await put(node)).status).toBe(200);
    try {
      const run = await preflight({ checks: 'cluster' });
      expect(run.exitCode).toBe(1);
      expect(run.errors[0]).toContain('not Ready: sandbox-node-2 (KubeletNotReady: container runtime is down)');
    } finally {
      const fresh = cluster.sandbox.get('nodes', undefined, 'sandbox-node-2') as { metadata: object };
      await put({ ...saved, metadata: fresh.metadata });
    }
  });

  test('a missing permission is listed, and the kubeconfig token is masked', async () => {
    const names = { release: 'veloz', deployment: 'veloz-engine' };
    const rules: { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[] = [
      ...stageRules('canary', names, false),
      ...stageRules('canary', names, true),
    ]
      .filter((r) => r.resource !== 'leases')
      .map((r) => ({ apiGroups: [r.group], resources: [r.resource], verbs: r.verbs, resourceNames: r.resourceNames }));
    rules.push({ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get'] });
    cluster.sandbox.addToken('limited-token-123', 'deployer', { kind: 'ClusterRole', rules });
    const kubeconfig = cluster.sandbox.kubeconfig.replace(cluster.sandbox.token, 'limited-token-123');
    const run = await preflight({ checks: 'rbac', kubeconfig }, { PATH: cluster.env.PATH! });
    expect(run.exitCode).toBe(1);
    expect(run.errors[0]).toContain('Missing: create coordination.k8s.io/leases (the release lock)');
    expect(run.masks).toContain('limited-token-123');
    expect(
      run.stdout
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n'),
    ).not.toContain('limited-token-123');
  });
});

describe('release states', () => {
  test('a failed release fails with the recovery command spelled out', async () => {
    await cluster.failUpgrade('9.9.9');
    const run = await preflight({ checks: 'release' });
    expect(run.exitCode).toBe(1);
    expect(run.errors[0]).toMatch(
      /release: The last operation failed: .* Return to the last good revision with `helm rollback veloz 1 -n veloz`/,
    );
  });

  test('a release left pending-upgrade says another operation is in progress', async () => {
    await cluster.leavePendingUpgrade('9.9.9');
    const run = await preflight({ checks: 'release' });
    expect(run.exitCode).toBe(1);
    expect(run.errors[0]).toContain('Another operation is in progress (pending-upgrade');
    expect(run.errors[0]).toContain('helm rollback veloz 1 -n veloz');
  });
});

describe('helm 4 release states', () => {
  let helm4: Cluster;
  beforeAll(async () => {
    helm4 = await startCluster({ helm: 'helm4' });
    await helm4.install('1.1.0');
  }, 120_000);
  afterAll(async () => helm4?.stop());
  const check = () => preflight({ checks: 'release' }, helm4.env);

  test('deployed, then failed, then pending-upgrade', async () => {
    const deployed = await check();
    expect(deployed.exitCode).toBe(0);
    expect(deployed.outputs['current-revision']).toBe('1');
    await helm4.failUpgrade('9.9.8');
    const failed = await check();
    expect(failed.errors[0]).toMatch(/release: The last operation failed: [\s\S]* `helm rollback veloz 1 -n veloz`/);
    await helm4.leavePendingUpgrade('9.9.9');
    const pending = await check();
    expect(pending.errors[0]).toContain('Another operation is in progress (pending-upgrade, revision 3)');
  });
});

describe('bad input changes nothing', () => {
  test.each([
    ['checks', 'cluster, sanity', "unknown check 'sanity'"],
    ['window-hours', '14:00-10:00', 'start before the end'],
    ['sentinel-addresses', 'redis-sentinel', 'host:port entries'],
    ['max-replication-lag', 'one meg', 'a size such as 1MB'],
    ['sha', 'main', 'a full commit SHA (40 hexadecimal digits)'],
    ['max-severity', 'severe', 'one of low, medium, high, critical'],
    ['dashboard-urls', 'grafana.internal/d/engine', 'http(s) URLs, one per line'],
    ['min-approvals', 'two', 'a whole number from 0 to 100'],
  ])('%s: %s', async (input, value, expected) => {
    const before = cluster.sandbox.journal.list().length;
    const run = await preflight({ ...KUBE_CHECKS, [input]: value });
    expect(run.exitCode).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain(`Input '${input}'`);
    expect(run.errors[0]).toContain(expected);
    expect(cluster.sandbox.journal.list().length).toBe(before);
  });
});

describe('the data tier, through the bundle', () => {
  let pg: PgCluster;
  let redis: RedisSentinelCluster;
  let registry: TestRegistry;
  let dir: string;
  beforeAll(async () => {
    [pg, redis, registry] = await Promise.all([
      startPostgres({ standby: true, archive: true }),
      startRedisSentinel(),
      startRegistry({ auth: 'basic' }),
    ]);
    await registry.pushImage('veloz/veloz-engine', '1.2.0');
    await pg.waitForStreaming(1);
    await pg.switchWal();
    await pg.waitForArchive();
    dir = await mkdtemp(join(tmpdir(), 'veloz-backup-'));
    await writeFile(join(dir, 'full-2026.tar.gz'), 'backup');
  }, 120_000);
  afterAll(async () => {
    await Promise.all([pg?.stop(), redis?.stop(), registry?.stop(), dir && rm(dir, { recursive: true, force: true })]);
  });

  test('postgres, redis, image, backup and snapshot pass against real servers', async () => {
    const password = await pg.createUser('veloz_monitor', 's3cret-pw', { monitor: true });
    const run = await preflight({
      checks: 'image, postgres, backup, redis, snapshot',
      image: `${registry.host}/veloz/veloz-engine`,
      version: '1.2.0',
      'registry-username': registry.username,
      'registry-password': registry.password,
      'postgres-url': password,
      'backup-path': join(dir, '*.tar.gz'),
      'sentinel-addresses': redis.sentinelAddresses.join(', '),
      'snapshot-commands': `/bin/echo backup_postgres.sh -t full\n/bin/echo backup_wal.sh`,
    });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.summary).toContain('| PostgreSQL replication and WAL archiving | ✅ pass | 1/1 streaming');
    expect(run.summary).toMatch(/2\/2 snapshot command\(s\) succeeded/);
    const printed = run.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    expect(printed).not.toContain('s3cret-pw');
    expect(printed).not.toContain(registry.password);
  });

  test('through the bundle too: a stopped standby and a killed Redis master fail the checklist', async () => {
    await pg.stopStandby();
    const killed = await redis.killMaster();
    const run = await preflight({
      checks: 'postgres, redis',
      'postgres-url': pg.url('primary'),
      'sentinel-addresses': redis.sentinelAddresses.join(', '),
    });
    expect(run.exitCode).toBe(1);
    expect(run.outputs['failed-checks']).toBe('postgres,redis');
    expect(run.errors[0]).toMatch(/0 standby\(s\) streaming, need at least 1/);
    expect(run.errors[0]).toContain(`127.0.0.1:${killed}`);
  });
});
