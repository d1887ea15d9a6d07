import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Node } from 'kubernetes-models/v1/Node';
import { Pod } from 'kubernetes-models/v1/Pod';
import type { ToolName } from '@veloz/sandbox';
import { deploymentManifest, eventually, startTestCluster, type TestCluster } from './support';

interface Item {
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: { template?: { spec?: { containers?: { image: string }[] } } };
  status?: Record<string, unknown> & { conditions?: { type: string; status: string }[] };
}

describe.each<ToolName>(['kubectl-1.31', 'kubectl-1.33'])('%s against the sandbox', (kubectl) => {
  let c: TestCluster;
  const k = (...args: string[]) => c.run(kubectl, args);
  const json = async <T>(...args: string[]): Promise<T> => {
    const r = await k(...args, '-o', 'json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as T;
  };
  const manifest = async (name: string, text: string): Promise<string> => {
    const path = join(c.dir, `${name}.json`);
    await writeFile(path, text);
    return path;
  };
  const imageOf = (d: Item): string | undefined => d.spec?.template?.spec?.containers?.[0]?.image;

  beforeAll(async () => {
    c = await startTestCluster({
      profiles: ['veloz/crash:1=crashloop:run=100ms,backoff=200ms', 'veloz/engine:never=never-ready'],
    });
  });
  afterAll(async () => {
    await c.close();
  });

  test('get nodes -o json lists Ready nodes with capacity that validate as Nodes', async () => {
    const list = await json<{ items: Item[] }>('get', 'nodes');
    expect(list.items.length).toBeGreaterThanOrEqual(2);
    for (const n of list.items) {
      expect(n.status?.conditions?.find((x) => x.type === 'Ready')?.status).toBe('True');
      expect(n.status).toMatchObject({
        capacity: { cpu: expect.any(String), memory: expect.any(String), pods: expect.any(String) },
        allocatable: { pods: expect.any(String) },
      });
      expect(() => new Node(n as never).validate()).not.toThrow();
    }
    const table = await k('get', 'nodes');
    expect(table.stdout).toMatch(/sandbox-node-1\s+Ready/);
  });

  test('apply creates a Deployment that rolls out; re-applying is a no-op', async () => {
    const file = await manifest('web', deploymentManifest('web', 'veloz/engine:1.0.0'));
    const created = await k('apply', '-f', file);
    expect(created).toMatchObject({ code: 0, stdout: expect.stringContaining('deployment.apps/web created') });
    const status = await k('rollout', 'status', 'deployment/web', '--timeout=60s');
    expect(status.stdout).toContain('successfully rolled out');
    expect(status.code).toBe(0);
    expect((await k('apply', '-f', file)).stdout).toContain('unchanged');

    const deploy = await json<Item>('get', 'deployment', 'web');
    expect(deploy.status).toMatchObject({ replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2 });
    expect(deploy.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
    expect(() => new Deployment(deploy as never).validate()).not.toThrow();
    const pods = await json<{ items: Item[] }>('get', 'pods', '-l', 'app=web');
    expect(pods.items).toHaveLength(2);
    for (const p of pods.items) {
      expect(p.status).toMatchObject({ phase: 'Running', podIP: expect.any(String) });
      expect(p.status?.conditions?.find((x) => x.type === 'Ready')?.status).toBe('True');
      expect(() => new Pod(p as never).validate()).not.toThrow();
    }
    const deployments = await json<{ items: Item[] }>('get', 'deployments');
    expect(deployments.items.map((d) => d.metadata.name)).toContain('web');
  });

  test('set image, rollout history with change-cause, undo and undo --to-revision', async () => {
    expect((await k('set', 'image', 'deployment/web', 'main=veloz/engine:1.1.0')).code).toBe(0);
    expect((await k('rollout', 'status', 'deployment/web', '--timeout=60s')).code).toBe(0);
    expect((await k('annotate', 'deployment/web', 'kubernetes.io/change-cause=upgrade to 1.1.0')).stdout).toContain(
      'annotated',
    );
    await eventually(
      async () => (await k('rollout', 'history', 'deployment/web')).stdout.includes('upgrade to 1.1.0'),
      10_000,
      'change-cause in history',
    );
    const history = (await k('rollout', 'history', 'deployment/web')).stdout;
    expect(history).toMatch(/1\s+<none>/);
    expect(history).toMatch(/2\s+upgrade to 1.1.0/);

    // undo: the previous revision (1) comes back as the newest number (3).
    expect((await k('rollout', 'undo', 'deployment/web')).stdout).toContain('rolled back');
    expect((await k('rollout', 'status', 'deployment/web', '--timeout=60s')).code).toBe(0);
    let deploy = await json<Item>('get', 'deployment', 'web');
    expect(imageOf(deploy)).toBe('veloz/engine:1.0.0');
    expect(deploy.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    const afterUndo = (await k('rollout', 'history', 'deployment/web')).stdout;
    expect(afterUndo).not.toMatch(/^1\s/m);
    expect(afterUndo).toMatch(/^3\s/m);

    expect((await k('rollout', 'undo', 'deployment/web', '--to-revision=2')).code).toBe(0);
    expect((await k('rollout', 'status', 'deployment/web', '--timeout=60s')).code).toBe(0);
    deploy = await json<Item>('get', 'deployment', 'web');
    expect(imageOf(deploy)).toBe('veloz/engine:1.1.0');
    expect(deploy.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('4');
    const rsList = await json<{ items: Item[] }>('get', 'replicasets', '-l', 'app=web');
    expect(rsList.items.map((rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision']).sort()).toEqual([
      '3',
      '4',
    ]);
  });

  test('scale, logs, describe events, auth can-i and the pod proxy', async () => {
    expect((await k('scale', 'deployment/web', '--replicas=3')).stdout).toContain('scaled');
    expect((await k('rollout', 'status', 'deployment/web', '--timeout=60s')).code).toBe(0);
    expect((await json<Item>('get', 'deployment', 'web')).status).toMatchObject({ replicas: 3, readyReplicas: 3 });

    const logs = await k('logs', 'deployment/web', '--tail=3');
    expect(logs.code).toBe(0);
    expect(logs.stdout.trim().split('\n')).toHaveLength(3);

    const describe = await k('describe', 'deployment', 'web');
    expect(describe.stdout).toMatch(/ScalingReplicaSet\s.*Scaled up replica set web-/);

    const can = await k('auth', 'can-i', 'create', 'deployments');
    expect(can).toMatchObject({ code: 0, stdout: 'yes\n' });

    const pod = (await json<{ items: Item[] }>('get', 'pods', '-l', 'app=web')).items[0]?.metadata.name;
    const raw = await k('get', '--raw', `/api/v1/namespaces/veloz/pods/${pod}/proxy/health`);
    expect(raw.code).toBe(0);
    expect(raw.stdout.length).toBeGreaterThan(0);
  });

  test('auth can-i and 403s follow the RBAC document bound to a token', async () => {
    const token = `viewer-${kubectl}`;
    c.sandbox.addToken(token, 'viewer', {
      kind: 'Role',
      rules: [{ apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list', 'watch'] }],
    });
    const as = (...args: string[]) => k('--token', token, ...args);
    expect(await as('auth', 'can-i', 'list', 'pods')).toMatchObject({ code: 0, stdout: 'yes\n' });
    expect(await as('auth', 'can-i', 'delete', 'pods')).toMatchObject({ code: 1, stdout: 'no\n' });
    expect((await as('get', 'pods')).code).toBe(0);
    const denied = await as('get', 'deployments');
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(
      'deployments.apps is forbidden: User "viewer" cannot list resource "deployments" in API group "apps" in the namespace "veloz"',
    );
  });

  test('rollout status fails on ProgressDeadlineExceeded', async () => {
    const file = await manifest(
      'stuck',
      deploymentManifest('stuck', 'veloz/engine:1.0.0', { replicas: 1, progressDeadlineSeconds: 2 }),
    );
    expect((await k('apply', '-f', file)).code).toBe(0);
    expect((await k('rollout', 'status', 'deployment/stuck', '--timeout=60s')).code).toBe(0);
    expect((await k('set', 'image', 'deployment/stuck', 'main=veloz/engine:never')).code).toBe(0);
    const status = await k('rollout', 'status', 'deployment/stuck', '--timeout=60s');
    expect(status.code).not.toBe(0);
    expect(status.stderr).toContain('exceeded its progress deadline');
    const deploy = await json<Item>('get', 'deployment', 'stuck');
    expect(deploy.status?.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }),
      ]),
    );
  });

  test('a crash-looping image shows CrashLoopBackOff in get pods', async () => {
    expect((await k('create', 'deployment', 'crash', '--image=veloz/crash:1')).code).toBe(0);
    const line = await eventually(
      async () =>
        (await k('get', 'pods', '-l', 'app=crash')).stdout.split('\n').find((l) => /CrashLoopBackOff/.test(l)),
      30_000,
      'CrashLoopBackOff',
    );
    expect(line).toMatch(/0\/1\s+CrashLoopBackOff\s+[1-9]/);
    const pod = (
      await json<{
        items: (Item & {
          status: { containerStatuses: { restartCount: number; lastState: { terminated?: { reason: string } } }[] };
        })[];
      }>('get', 'pods', '-l', 'app=crash')
    ).items[0];
    expect(pod?.status.containerStatuses[0]?.restartCount).toBeGreaterThan(0);
    expect(pod?.status.containerStatuses[0]?.lastState.terminated?.reason).toBe('Error');
  });

  test('delete cascades to ReplicaSets and pods', async () => {
    expect((await k('delete', 'deployment', 'crash', '--wait=true')).code).toBe(0);
    await eventually(
      () =>
        c.sandbox.list('replicasets', 'veloz', 'app=crash').length === 0 &&
        c.sandbox.list('pods', 'veloz', 'app=crash').length === 0,
      30_000,
      'garbage collection',
    );
    const get = await k('get', 'deployment', 'crash');
    expect(get.code).not.toBe(0);
    expect(get.stderr).toContain('deployments.apps "crash" not found');
  });
});
