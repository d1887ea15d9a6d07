/**
 * Bad input changes nothing, proved on a live cluster (issue 13 items 6, 7) and the release lock's
 * `lock-wait` (item 1): the canary and rollback bundles run against a sandbox with a real Helm
 * release; the sandbox's request journal shows every request they made, and the Helm history and
 * ReplicaSets are compared before and after. The harness gives each run an empty HOME, so nothing
 * can reach a ~/.kube/config.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { runActionBundle, type ActionName } from '@veloz/harness';
import { readFile } from 'node:fs/promises';
import { CHART, VALUES_PRODUCTION, startCluster, type Cluster } from '../support/cluster';

let cluster: Cluster;
let kubeconfig: string;

beforeAll(async () => {
  cluster = await startCluster();
  kubeconfig = await readFile(cluster.kubeconfigPath, 'utf8');
  await cluster.install('1.0.0');
  await cluster.install('1.1.0');
}, 120_000);
afterAll(async () => cluster?.stop());
beforeEach(() => releaseLease());

function releaseLease(): void {
  if (cluster.sandbox.get('leases', 'veloz', 'veloz-deploy-veloz'))
    cluster.sandbox.remove('leases', 'veloz', 'veloz-deploy-veloz');
}

const MUTATING = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** Valid inputs that would deploy or roll back for real: only the bad ones below stop them. */
const GOOD: Record<'canary' | 'rollback', Record<string, string>> = {
  canary: {
    phase: 'canary',
    strategy: 'in-place',
    version: '1.2.0',
    chart: CHART,
    'values-files': VALUES_PRODUCTION,
    timeout: '60s',
  },
  rollback: { reason: 'error rate above 5% for 5 minutes', timeout: '60s' },
};

interface ClusterState {
  revisions: string[];
  replicaSets: string[];
}

async function clusterState(): Promise<ClusterState> {
  return {
    revisions: (await cluster.helmRevisions()).map((r) => `${r.revision} ${r.status} ${r.app_version}`),
    replicaSets: cluster.sandbox
      .list('replicasets', 'veloz')
      .map((rs) => {
        const o = rs as { metadata: { name: string; resourceVersion?: string }; spec?: { replicas?: number } };
        return `${o.metadata.name} rv=${o.metadata.resourceVersion} replicas=${o.spec?.replicas}`;
      })
      .sort(),
  };
}

/** Runs the bundle and returns it with every API request it made. */
async function runAgainstCluster(action: ActionName, inputs: Record<string, string>) {
  const mark = cluster.sandbox.journal.list().length;
  const run = await runActionBundle(action, { kubeconfig, ...inputs }, { env: cluster.env, timeoutMs: 120_000 });
  const requests = cluster.sandbox.journal.list().slice(mark);
  return { run, requests, mutating: requests.filter((r) => MUTATING.has(r.verb)) };
}

const BAD: [string, 'canary' | 'rollback', Record<string, string>, string[]][] = [
  ['canary: a malformed timeout', 'canary', { timeout: 'soon' }, ['timeout']],
  ['canary: no version', 'canary', { version: '' }, ['version']],
  ['canary: driver helm without chart', 'canary', { chart: '' }, ['chart']],
  [
    'canary: three bad inputs at once',
    'canary',
    { timeout: 'soon', replicas: 'many', 'lock-wait': 'a while' },
    ['lock-wait', 'replicas', 'timeout'],
  ],
  ['rollback: no reason', 'rollback', { reason: '' }, ['reason']],
  ['rollback: a malformed lock-ttl', 'rollback', { 'lock-ttl': '2 minutes' }, ['lock-ttl']],
  [
    'rollback: three bad inputs at once',
    'rollback',
    { timeout: '5x', force: 'maybe', 'database-restore': 'everything' },
    ['database-restore', 'force', 'timeout'],
  ],
];

describe('bad input changes nothing on a live cluster', () => {
  test.each(BAD)('%s', async (_name, action, bad, inputs) => {
    const before = await clusterState();
    const { run, requests, mutating } = await runAgainstCluster(action, { ...GOOD[action], ...bad });

    expect(run.exitCode).toBe(1);
    // one ::error:: per bad input, each naming it, and nothing else
    expect(run.errors.map((e) => /^Input '([^']+)'/.exec(e)?.[1]).sort()).toEqual(inputs);
    expect(run.errors).toHaveLength(inputs.length);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.outputs).toEqual({});
    // Inputs are validated before the Kubernetes client loads: not one request, let alone a write.
    expect(mutating).toEqual([]);
    expect(requests).toEqual([]);
    expect(await clusterState()).toEqual(before);
  });

  test('the sandbox and inputs are real: the same canary with good inputs does write', async () => {
    const before = await clusterState();
    const { run, mutating } = await runAgainstCluster('canary', GOOD.canary);
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(mutating.length).toBeGreaterThan(0);
    expect((await clusterState()).revisions.length).toBe(before.revisions.length + 1);
    // back to 1.1.0 for the next tests
    await cluster.install('1.1.0');
  });
});

describe('a canary that finds the release lock held', () => {
  const HOLDER = 'https://github.com/veloz/veloz/actions/runs/900';

  test('with lock-wait 0s: fails at once naming the holder; no write, nothing changed', async () => {
    cluster.holdLease(HOLDER, 5, 'rollback');
    const before = await clusterState();
    const { run, requests, mutating } = await runAgainstCluster('canary', { ...GOOD.canary, 'lock-wait': '0s' });
    expect(run.exitCode).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain(`rollback run ${HOLDER} by someone`);
    expect(run.errors[0]).not.toContain('after waiting');
    expect(mutating).toEqual([]);
    expect(requests.filter((r) => r.resource === 'leases').map((r) => r.verb)).toEqual(['get']);
    expect(await clusterState()).toEqual(before);
    expect(cluster.sandbox.get('leases', 'veloz', 'veloz-deploy-veloz')).toBeDefined();
  });

  test('with lock-wait 3s: waits, reading the lease again, then fails naming the holder; no write', async () => {
    cluster.holdLease(HOLDER, 5, 'rollback');
    const before = await clusterState();
    const { run, requests, mutating } = await runAgainstCluster('canary', { ...GOOD.canary, 'lock-wait': '3s' });
    expect(run.exitCode).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain(`rollback run ${HOLDER} by someone`);
    expect(run.errors[0]).toContain('still held after waiting 3s (lock-wait)');
    expect(run.warnings.join('\n')).toContain('waiting for it');
    expect(mutating).toEqual([]);
    // polled, not a single read
    expect(requests.filter((r) => r.resource === 'leases' && r.verb === 'get').length).toBeGreaterThanOrEqual(3);
    expect(await clusterState()).toEqual(before);
  });

  test('with lock-wait 60s: proceeds as soon as the holder releases the lease', async () => {
    cluster.holdLease(HOLDER, 5, 'rollback');
    const before = await clusterState();
    const mark = cluster.sandbox.journal.list().length;
    const running = runAgainstCluster('canary', { ...GOOD.canary, 'lock-wait': '60s' });
    // Release it once the canary has found it held and read it again (it is waiting).
    const leaseReads = () =>
      cluster.sandbox.journal
        .list()
        .slice(mark)
        .filter((r) => r.resource === 'leases' && r.verb === 'get').length;
    for (let i = 0; i < 600 && leaseReads() < 2; i++) await new Promise((r) => setTimeout(r, 100));
    expect(leaseReads()).toBeGreaterThanOrEqual(2);
    const releasedAt = Date.now();
    releaseLease();
    const { run, mutating } = await running;
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.warnings.join('\n')).toContain(`held by rollback run ${HOLDER}`);
    // every write came after the holder let go
    expect(mutating.length).toBeGreaterThan(0);
    expect(Math.min(...mutating.map((r) => Date.parse(r.time)))).toBeGreaterThanOrEqual(releasedAt - 5);
    expect((await clusterState()).revisions.length).toBe(before.revisions.length + 1);
    await cluster.install('1.1.0');
  });
});
