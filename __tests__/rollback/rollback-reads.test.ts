/**
 * What the rollback bundle does before its first write (issue 30), from the sandbox's request journal:
 * the release lock is claimed before anything is written, and the Deployment, green and the release
 * history are each read once — the canary check and the target choice share the reads, and the
 * reads made beside the lock claim are the ones the rollback uses. The chat announcement goes out
 * beside the rollback: a webhook that does not answer does not hold the restore back.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import type { JournalEntry } from '@veloz/sandbox';
import { createServer, type Server } from 'node:http';
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

/**
 * A chat webhook that holds its first answer until the sandbox has seen the Deployment written (or
 * the sender gives up, or 15 s pass), and says which released it; later messages are answered at once.
 */
async function holdingWebhook(since: () => number) {
  const bodies: string[] = [];
  let releasedBy: 'the Deployment write' | 'the sender giving up' | 'time' | undefined;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      bodies.push(body);
      if (bodies.length > 1) return void res.writeHead(200).end('ok');
      const until = Date.now() + 15_000;
      const poll = setInterval(() => {
        const written = cluster.sandbox.journal
          .list({ since: since() })
          .some((e) => e.resource === 'deployments' && isWrite(e));
        if (res.destroyed) releasedBy ??= 'the sender giving up';
        else if (written) releasedBy ??= 'the Deployment write';
        else if (Date.now() > until) releasedBy ??= 'time';
        else return;
        clearInterval(poll);
        if (!res.destroyed) res.writeHead(200).end('ok');
      }, 20);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks/chat`,
    bodies,
    releasedBy: () => releasedBy,
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}

test('the announcement does not hold the rollback back: it is sent beside it, and the notices keep their order', async () => {
  let since = Number.POSITIVE_INFINITY;
  const webhook = await holdingWebhook(() => since);
  try {
    await cluster.install('1.3.0');
    await cluster.install('1.4.0');
    since = Date.now();
    const run = await runActionBundle(
      'rollback',
      {
        reason: 'error rate above 5% for 5 minutes',
        timeout: '60s',
        'notify-webhook': webhook.url,
        'allow-insecure-webhook': 'true', // a loopback http receiver
      },
      { env: cluster.env, timeoutMs: 120_000 },
    );
    expect(run.errors).toEqual([]);
    expect(run.outputs['rolled-back-to']).toMatch(/\(v1\.3\.0\)$/);
    expect(webhook.releasedBy()).toBe('the Deployment write');
    expect(webhook.bodies).toHaveLength(2);
    expect(webhook.bodies[0]).toContain('IN PROGRESS');
    expect(webhook.bodies[1]).toContain('COMPLETE');
    expect(run.warnings).toEqual([]);
  } finally {
    await webhook.stop();
  }
}, 180_000);
