/**
 * The logs check reads each pod's log per pass, bounded: only what was written since the previous
 * pass (sinceSeconds, timestamps drop the overlap), at most `limitBytes`, and counts add up over the
 * window without counting a line twice. Against engine doubles on the sandbox.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { systemClock } from '@veloz/shared/clock';
import { connectKube, type Kube } from '@veloz/shared/kube/client';
import { parseDegrade } from '../../packages/sandbox/src/engine/index';
import { logsCheck } from '../../actions/validate/src/checks/logs';
import { startCluster, type Cluster } from '../support/cluster';

let cluster: Cluster;
let kube: Kube;
let pod: string;

beforeAll(async () => {
  cluster = await startCluster();
  await cluster.install('1.1.0');
  pod = String(
    (cluster.sandbox.list('pods', 'veloz', 'app.kubernetes.io/name=veloz')[0]?.metadata as { name: string }).name,
  );
  kube = await connectKube(cluster.sandbox.kubeconfig);
}, 120_000);
afterAll(async () => cluster?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ctx = () => ({ signal: new AbortController().signal, clock: systemClock });

describe('logs check', () => {
  test('passes read only new lines, bounded by limitBytes, and count each error line once', async () => {
    const since = Date.now();
    cluster.sandbox.engineOf('veloz', pod)!.setBehaviour(parseDegrade({ 'log-errors': '20/s' }));
    const check = logsCheck(kube, {
      namespace: 'veloz',
      pods: [pod],
      pattern: 'error',
      threshold: 1_000_000,
      since,
      limitBytes: 5 * 1024 * 1024,
      timeoutMs: 10_000,
    });
    let last = { matches: 0 };
    for (let pass = 0; pass < 3; pass++) {
      await sleep(700);
      const outcome = await check.run(ctx());
      last = outcome.data as { matches: number };
    }
    cluster.sandbox.engineOf('veloz', pod)!.setBehaviour(undefined);
    // every error line written since `since` up to the last pass, read once in full for comparison
    const full = String(
      await kube.core.readNamespacedPodLog({ name: pod, namespace: 'veloz', sinceSeconds: 60, timestamps: true }),
    )
      .split('\n')
      .filter((l) => l && Date.parse(l.slice(0, l.indexOf(' '))) >= since - 1000 && /error/i.test(l));
    expect(last.matches).toBeGreaterThan(10);
    expect(last.matches).toBeLessThanOrEqual(full.length);
    expect(full.length - last.matches).toBeLessThan(40); // only what was written after the last pass
    const reads = cluster.sandbox.journal.list({ resource: 'pods' }).filter((e) => e.subresource === 'log');
    expect(reads.length).toBeGreaterThanOrEqual(3);
    for (const r of reads.slice(0, 3)) {
      expect(r.path).toMatch(/limitBytes=5242880/);
      expect(r.path).toMatch(/timestamps=true/);
      expect(Number(/sinceSeconds=(\d+)/.exec(r.path)?.[1])).toBeLessThanOrEqual(3);
    }
  });

  test('a pass with more new lines than limitBytes says so and reads on at the next pass', async () => {
    cluster.sandbox.engineOf('veloz', pod)!.setBehaviour(parseDegrade({ 'log-errors': '50/s' }));
    await sleep(1000);
    const check = logsCheck(kube, {
      namespace: 'veloz',
      pods: [pod],
      pattern: 'error',
      threshold: 1_000_000,
      since: Date.now() - 5_000,
      limitBytes: 300,
      timeoutMs: 10_000,
    });
    const first = await check.run(ctx());
    await check.run(ctx()); // a burst of one millisecond larger than the limit: stepped past
    const second = await check.run(ctx());
    cluster.sandbox.engineOf('veloz', pod)!.setBehaviour(undefined);
    expect(first.observed).toMatch(/new lines above 300 B in one pass in veloz-engine-\S+: read on at the next pass/);
    expect((second.data as { matches: number }).matches).toBeGreaterThan((first.data as { matches: number }).matches);
  });
});
