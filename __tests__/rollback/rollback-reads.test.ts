/**
 * What the rollback bundle does before its first write (issue 30), from the sandbox's request journal:
 * the release lock is claimed before anything is written, and the Deployment, green and the release
 * history are each read once — the canary check and the target choice share the reads, and the
 * reads made beside the lock claim are the ones the rollback uses.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import type { JournalEntry } from '@veloz/sandbox';
import { startCluster, type Cluster } from '../support/cluster';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster();
  await cluster.install('1.0.0');
}, 120_000);
afterAll(async () => cluster?.stop());

/** Our own requests: client-node's user agent (helm and kubectl name themselves). */
const ours = (e: JournalEntry) => !/^(helm|kubectl)/i.test(e.userAgent ?? '');
const isWrite = (e: JournalEntry) => !['get', 'list', 'watch'].includes(e.verb);

async function rollBackFrom(version: string, driver: 'helm' | 'kubectl') {
  await cluster.install(version);
  const since = Date.now();
  const run = await runActionBundle(
    'rollback',
    { reason: 'error rate above 5% for 5 minutes', timeout: '60s', driver },
    { env: cluster.env, timeoutMs: 120_000 },
  );
  expect(run.errors).toEqual([]);
  expect(run.exitCode).toBe(0);
  const journal = cluster.sandbox.journal.list({ since });
  const firstWrite = journal.findIndex((e) => isWrite(e) && e.resource !== 'leases');
  expect(firstWrite).toBeGreaterThan(0);
  return { run, journal, before: journal.slice(0, firstWrite), firstWrite: journal[firstWrite]! };
}

/** How often we asked for `path` (without its query) before the first write. */
function readsOf(before: JournalEntry[], path: string): number {
  return before.filter((e) => ours(e) && e.path.split('?')[0] === path).length;
}

describe.each(['helm', 'kubectl'] as const)('the %s driver, before its first write', (driver) => {
  test('claims the lock first and reads each object once', async () => {
    const { run, journal, before, firstWrite } = await rollBackFrom(driver === 'helm' ? '1.1.0' : '1.2.0', driver);
    expect(run.outputs['rolled-back-to']).toMatch(/\(v1\.(0|1)\.0\)$/);

    // The lease is created, and answered, before the first other write starts.
    const claim = journal.find((e) => e.resource === 'leases' && e.verb === 'create');
    expect(claim?.code).toBe(201);
    expect(journal.indexOf(claim!)).toBeLessThan(journal.indexOf(firstWrite));
    expect(Date.parse(firstWrite.time)).toBeGreaterThanOrEqual(Date.parse(claim!.time) + claim!.durationMs);

    const deployments = '/apis/apps/v1/namespaces/veloz/deployments';
    expect(readsOf(before, `${deployments}/veloz-engine`)).toBe(1);
    expect(readsOf(before, `${deployments}/veloz-engine-green`)).toBe(1);
    if (driver === 'helm') {
      const secrets = before.filter((e) => ours(e) && e.resource === 'secrets');
      expect(secrets.filter((e) => e.verb === 'list')).toHaveLength(1);
      const names = secrets.filter((e) => e.verb === 'get').map((e) => e.name);
      expect(names.length).toBeGreaterThan(1);
      expect(new Set(names).size).toBe(names.length);
    } else {
      expect(before.filter((e) => ours(e) && e.resource === 'replicasets' && e.verb === 'list')).toHaveLength(1);
      expect(ours(firstWrite)).toBe(true);
    }
  }, 180_000);
});
