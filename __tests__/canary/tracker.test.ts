/**
 * The rollout tracker from source against the sandbox: complete means kubectl's "complete"; a
 * crash-looping or unpullable new ReplicaSet fails fast with pod, reason and logs; the old
 * ReplicaSet's failing pods are not the new rollout's problem.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { systemClock } from '@veloz/shared/clock';
import { connectKube, type Kube } from '@veloz/shared/kube/client';
import { trackRollout, type RolloutResult } from '@veloz/shared/kube/rollout';
import { readFile } from 'node:fs/promises';
import { IMAGE, startCluster, type Cluster } from '../support/cluster';

describe('trackRollout', () => {
  let cluster: Cluster;
  let kube: Kube;
  beforeAll(async () => {
    cluster = await startCluster();
    kube = await connectKube(await readFile(cluster.kubeconfigPath, 'utf8'));
    await cluster.install('1.0.0');
  });
  afterAll(() => cluster.stop());

  /** Sets the image the way `kubectl set image` does and tracks the rollout that follows. */
  async function rollTo(tag: string, timeoutMs = 60_000): Promise<RolloutResult> {
    const tracking = trackRollout(kube, {
      namespace: 'veloz',
      deployment: 'veloz-engine',
      timeoutMs,
      clock: systemClock,
      awaiting: (d) =>
        d.spec?.template?.spec?.containers?.[0]?.image === `${IMAGE}:${tag}` ? undefined : `the image ${tag}`,
    });
    const r = await cluster.kubectl([
      'set',
      'image',
      'deployment/veloz-engine',
      `veloz-engine=${IMAGE}:${tag}`,
      '-n',
      'veloz',
    ]);
    if (r.code !== 0) throw new Error(r.stderr);
    return tracking;
  }

  test('a healthy rollout completes on the new revision', async () => {
    const result = await rollTo('1.1.0');
    expect(result).toMatchObject({ ok: true, revision: '2' });
  });

  test('a crash-looping new ReplicaSet fails fast, naming pod, container, restarts and last logs', async () => {
    cluster.sandbox.setProfile(`${IMAGE}:1.2.0`, 'crashloop:run=200ms,backoff=200ms');
    const result = await rollTo('1.2.0', 60_000);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toBe('crash-loop');
    expect(result.problem).toMatchObject({ container: 'veloz-engine', reason: 'CrashLoopBackOff' });
    expect(result.problem?.pod).toMatch(/^veloz-engine-/);
    expect(result.problem?.restartCount).toBeGreaterThan(0);
    expect(result.durationMs).toBeLessThan(60_000);
  });

  test("the old ReplicaSet's crash-looping pods do not fail the rollout that replaces them", async () => {
    // The release is now mid-way to the crash-looping 1.2.0; a fix rolls out over it.
    const result = await rollTo('1.2.1');
    expect(result).toMatchObject({ ok: true });
  });

  test('an image that cannot be pulled fails as image-pull', async () => {
    cluster.sandbox.setProfile(`${IMAGE}:9.9.9`, 'missing:backoff=200ms');
    const result = await rollTo('9.9.9');
    expect(result).toMatchObject({ ok: false, reason: 'image-pull' });
    await rollTo('1.1.0');
  });
});
