import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { toolPath } from '@veloz/sandbox';
import { dirname } from 'node:path';
import { CHART, IMAGE, VALUES_PRODUCTION, startCluster, type Cluster } from '../support/cluster';

/** The whole deploy-and-recover story with each driver: canary, promotion, a crash-looping canary, its rollback. */
describe.each([
  ['helm3', { driver: 'helm', chart: CHART, 'values-files': VALUES_PRODUCTION }],
  ['helm4', { driver: 'helm', chart: CHART, 'values-files': VALUES_PRODUCTION }],
  ['helm4 over a helm 3 release', { driver: 'helm', chart: CHART, 'values-files': VALUES_PRODUCTION }],
  ['kubectl', { driver: 'kubectl', image: IMAGE }],
] as const)('with %s', (tool, driverInputs) => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ helm: tool === 'helm4' ? 'helm4' : 'helm3' });
    await cluster.install('1.0.0');
    // An operator upgrading the runners' helm: the release was made client-side by helm 3.
    if (tool === 'helm4 over a helm 3 release')
      cluster.env.PATH = `${dirname(await toolPath('helm4'))}:${cluster.env.PATH}`;
  }, 120_000);
  afterAll(async () => cluster?.stop());

  const canary = (inputs: Record<string, string>) =>
    runActionBundle(
      'canary',
      { ...driverInputs, strategy: 'in-place', timeout: '60s', ...inputs },
      { env: cluster.env, timeoutMs: 120_000 },
    );
  const rollback = (inputs: Record<string, string> = {}) =>
    runActionBundle(
      'rollback',
      { driver: driverInputs.driver, reason: 'bad release', timeout: '60s', ...inputs },
      { env: cluster.env, timeoutMs: 120_000 },
    );
  const images = () =>
    cluster.sandbox
      .list('pods', 'veloz', 'app.kubernetes.io/name=veloz')
      .filter((p) => !(p.metadata as { deletionTimestamp?: string }).deletionTimestamp)
      .map((p) => (p as unknown as { spec: { containers: { image: string }[] } }).spec.containers[0]!.image)
      .sort();
  const hpas = () => cluster.sandbox.list('horizontalpodautoscalers', 'veloz').length;

  test('canary, then promotion, of 1.1.0', async () => {
    const first = await canary({ phase: 'canary', version: '1.1.0' });
    expect(first.errors).toEqual([]);
    expect(images()).toEqual([`${IMAGE}:1.1.0`]);
    expect(hpas()).toBe(0);
    const second = await canary({ phase: 'promote', version: '1.1.0' });
    expect(second.errors).toEqual([]);
    expect(images()).toEqual([`${IMAGE}:1.1.0`, `${IMAGE}:1.1.0`]);
    expect(hpas()).toBe(1);
  });

  test('a crash-looping 1.2.0 canary fails fast, and the rollback restores 1.1.0 at full size', async () => {
    cluster.sandbox.setProfile(`${IMAGE}:1.2.0`, 'crashloop');
    const bad = await canary({ phase: 'canary', version: '1.2.0' });
    expect(bad.exitCode).toBe(1);
    expect(bad.errors[0]).toMatch(/crash-looping \(CrashLoopBackOff/);
    const run = await rollback();
    expect(run.errors).toEqual([]);
    expect(run.outputs['rolled-back-to']).toMatch(/\(v1\.1\.0\)$/);
    expect(images()).toEqual([`${IMAGE}:1.1.0`, `${IMAGE}:1.1.0`]);
    expect(hpas()).toBe(1);
  });
});
