/**
 * veloz-deploy interrupted (Ctrl-C, or SIGTERM from a supervisor) while it holds the release lock:
 * like a cancelled action step, it interrupts helm, deletes its Lease and exits 130/143, so the next
 * run starts at once instead of waiting out `lock-ttl` behind a dead terminal.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import { CHART, VALUES_PRODUCTION, preemptableCanary, startCluster, type Cluster } from '../support/cluster';
import { runCli } from './run-cli';

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster();
  await cluster.install('1.1.0');
  await cluster.install('1.2.0');
}, 120_000);
afterAll(async () => cluster?.stop());

const lease = () =>
  cluster.sandbox.get('leases', 'veloz', 'veloz-deploy-veloz') as
    { spec?: { holderIdentity?: string }; metadata?: { annotations?: Record<string, string> } } | undefined;

test.each(['SIGINT', 'SIGTERM'] as const)(
  '%s while the CLI canary holds the lock: helm interrupted, the Lease deleted, exit 130/143',
  async (signal) => {
    preemptableCanary(cluster.sandbox, '60s'); // 1.3.0's pods become Ready only after a minute
    let child: ChildProcess | undefined;
    const argv = ['canary', '--version', '1.3.0', '--chart', CHART, '--values-files', VALUES_PRODUCTION];
    const running = runCli([...argv, '--strategy', 'in-place', '--timeout', '2m'], cluster.env, 120_000, (c) => {
      child = c;
    });
    const until = Date.now() + 60_000;
    while (Date.now() < until && (await cluster.helmRevisions()).at(-1)?.status !== 'pending-upgrade')
      await new Promise((r) => setTimeout(r, 200));
    expect((await cluster.helmRevisions()).at(-1)?.status).toBe('pending-upgrade');
    expect(lease()?.metadata?.annotations?.['veloz.io/actor']).toMatch(/^cli:oncall@/);

    const sentAt = Date.now();
    child!.kill(signal);
    const run = await running;
    expect(run.code).toBe(signal === 'SIGINT' ? 130 : 143);
    expect(Date.now() - sentAt).toBeLessThan(15_000);
    expect(run.stderr).toContain(
      `error: Cancelled (${signal}): helm was interrupted and the release lock given back, so the next run starts at once. ` +
        'What was in progress may be half done: run the rollback, or re-run this command.',
    );
    expect(lease()).toBeUndefined();
    // helm recorded its interrupted upgrade instead of leaving it pending
    expect((await cluster.helmRevisions()).at(-1)?.status).not.toBe('pending-upgrade');
  },
  150_000,
);
