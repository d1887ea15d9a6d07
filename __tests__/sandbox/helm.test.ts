import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Service } from 'kubernetes-models/v1/Service';
import { join } from 'node:path';
import type { ToolName } from '@veloz/sandbox';
import { CHART, eventually, startTestCluster, type TestCluster } from './support';

interface HistoryEntry {
  revision: number;
  status: string;
  description: string;
}

const imageOf = (o: { spec?: unknown } | undefined): string | undefined =>
  (
    o?.spec as { template?: { spec?: { containers?: { name: string; image: string }[] } } } | undefined
  )?.template?.spec?.containers?.find((c) => c.name === 'veloz-engine')?.image;

describe.each<ToolName>(['helm3', 'helm4'])('%s against the sandbox', (helm) => {
  let c: TestCluster;
  const h = (...args: string[]) => c.run(helm, [...args, '--namespace', 'veloz']);
  const history = async (): Promise<HistoryEntry[]> => {
    const r = await h('history', 'veloz', '-o', 'json');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as HistoryEntry[];
  };

  beforeAll(async () => {
    c = await startTestCluster({ profiles: ['veloz/engine:never=never-ready'] });
  });
  afterAll(async () => {
    await c.close();
  });

  test('upgrade --install --wait deploys the chart', async () => {
    const r = await h('upgrade', '--install', 'veloz', CHART, '--wait', '--timeout', '60s');
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(await history()).toEqual([
      expect.objectContaining({ revision: 1, status: 'deployed', description: 'Install complete' }),
    ]);
    const deploy = c.sandbox.get('deployments', 'veloz', 'veloz-engine');
    expect(deploy?.metadata.labels?.['app.kubernetes.io/name']).toBe('veloz');
    expect(imageOf(deploy)).toBe('veloz/engine:1.0.0');
    expect(deploy?.status).toMatchObject({ readyReplicas: 2, availableReplicas: 2 });
    const svc = c.sandbox.get('services', 'veloz', 'veloz-engine');
    expect(() => new Service(svc as never).validate()).not.toThrow();
    const status = await h('status', 'veloz');
    expect(status.stdout).toMatch(/STATUS: deployed/);
    expect(status.stdout).toMatch(/REVISION: 1/);
  });

  test('upgrade with values-production enables the HPA and keeps replicas within bounds', async () => {
    const r = await h(
      'upgrade',
      'veloz',
      CHART,
      '-f',
      join(CHART, 'values-production.yaml'),
      '--set',
      'engine.image.tag=1.1.0',
      '--wait',
      '--timeout',
      '60s',
    );
    expect(r.code).toBe(0);
    const hpa = c.sandbox.get('horizontalpodautoscalers', 'veloz', 'veloz-engine');
    expect(hpa?.spec).toMatchObject({ minReplicas: 2, maxReplicas: 6 });
    expect(() => new HorizontalPodAutoscaler(hpa as never).validate()).not.toThrow();
    // The HPA controller runs on its own period (as in Kubernetes), so it scales up shortly after.
    const deploy = await c.sandbox.waitFor(
      'deployments',
      'veloz',
      'veloz-engine',
      (d) => ((d?.spec as { replicas?: number } | undefined)?.replicas ?? 0) >= 2,
      10_000,
    );
    expect(imageOf(deploy)).toBe('veloz/engine:1.1.0');
    const replicas = (deploy?.spec as { replicas: number }).replicas;
    expect(replicas).toBeGreaterThanOrEqual(2);
    expect(replicas).toBeLessThanOrEqual(6);
    expect((await history()).at(-1)).toMatchObject({ revision: 2, status: 'deployed' });
  });

  test('an upgrade to a never-ready image fails --wait and leaves the release failed', async () => {
    const r = await h('upgrade', 'veloz', CHART, '--set', 'engine.image.tag=never', '--wait', '--timeout', '3s');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/UPGRADE FAILED/);
    expect((await history()).at(-1)).toMatchObject({ revision: 3, status: 'failed' });
  });

  test('rollback to a revision with --wait restores it', async () => {
    const r = await h('rollback', 'veloz', '1', '--wait', '--timeout', '60s');
    expect(r.code).toBe(0);
    const entries = await history();
    expect(entries.at(-1)).toMatchObject({ revision: 4, status: 'deployed', description: 'Rollback to 1' });
    expect(entries.find((e) => e.revision === 3)?.status).toBe('failed');
    const deploy = c.sandbox.get('deployments', 'veloz', 'veloz-engine');
    expect(imageOf(deploy)).toBe('veloz/engine:1.0.0');
    expect(c.sandbox.get('horizontalpodautoscalers', 'veloz', 'veloz-engine')).toBeUndefined();
  });

  test('rollback without a revision goes to the previous one', async () => {
    expect(
      (await h('upgrade', 'veloz', CHART, '--set', 'engine.image.tag=1.2.0', '--wait', '--timeout', '60s')).code,
    ).toBe(0);
    expect(imageOf(c.sandbox.get('deployments', 'veloz', 'veloz-engine'))).toBe('veloz/engine:1.2.0');
    const r = await h('rollback', 'veloz', '--wait', '--timeout', '60s');
    expect(r.code).toBe(0);
    expect((await history()).at(-1)).toMatchObject({ revision: 6, status: 'deployed', description: 'Rollback to 4' });
    expect(imageOf(c.sandbox.get('deployments', 'veloz', 'veloz-engine'))).toBe('veloz/engine:1.0.0');
  });

  test('a killed helm process leaves the release pending-upgrade', async () => {
    const child = await c.spawn(helm, [
      'upgrade',
      'veloz',
      CHART,
      '--namespace',
      'veloz',
      '--set',
      'engine.image.tag=never',
      '--wait',
      '--timeout',
      '120s',
    ]);
    await eventually(
      () => c.sandbox.list('secrets', 'veloz', 'owner=helm,name=veloz,status=pending-upgrade').length > 0,
      30_000,
      'pending-upgrade release record',
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect((await history()).at(-1)).toMatchObject({ revision: 7, status: 'pending-upgrade' });
    const status = await h('status', 'veloz');
    expect(status.stdout).toMatch(/STATUS: pending-upgrade/);
    const again = await h('upgrade', 'veloz', CHART, '--wait', '--timeout', '5s');
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/another operation \(install\/upgrade\/rollback\) is in progress/);
  });

  test('uninstall --wait removes the release, its objects and its records', async () => {
    const r = await h('uninstall', 'veloz', '--wait');
    expect(r.code).toBe(0);
    expect(c.sandbox.get('deployments', 'veloz', 'veloz-engine')).toBeUndefined();
    expect(c.sandbox.list('secrets', 'veloz', 'owner=helm,name=veloz')).toHaveLength(0);
    await eventually(
      () => c.sandbox.list('pods', 'veloz', 'app.kubernetes.io/name=veloz').length === 0,
      20_000,
      'pods collected',
    );
  });
});
