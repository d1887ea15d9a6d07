import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import * as k8s from '@kubernetes/client-node';
import { startSandbox, type Sandbox } from '@veloz/sandbox';
import { eventually } from './support';

/** The ApiException a call fails with (the test fails if it succeeds). */
async function failure(p: Promise<unknown>): Promise<k8s.ApiException<string>> {
  try {
    await p;
  } catch (err) {
    return err as k8s.ApiException<string>;
  }
  throw new Error('expected the call to fail');
}

describe('@kubernetes/client-node 1.4 against the sandbox', () => {
  let sb: Sandbox;
  let kc: k8s.KubeConfig;
  let apps: k8s.AppsV1Api;
  let core: k8s.CoreV1Api;

  const deployment = (name: string, image: string): k8s.V1Deployment => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image }] } },
    },
  });

  beforeAll(async () => {
    sb = await startSandbox({ podStartupDelayMs: 100, probeIntervalMs: 100, engineSyntheticRps: 0 });
    kc = new k8s.KubeConfig();
    kc.loadFromString(sb.kubeconfig);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    core = kc.makeApiClient(k8s.CoreV1Api);
  });
  afterAll(async () => {
    await sb.stop();
  });

  test('create, list with selectors and patch (merge and strategic)', async () => {
    const created = await apps.createNamespacedDeployment({
      namespace: 'veloz',
      body: deployment('cn', 'veloz/engine:1'),
    });
    expect(created.metadata?.uid).toBeTruthy();
    expect(created.metadata?.generation).toBe(1);
    await eventually(
      async () =>
        (await core.listNamespacedPod({ namespace: 'veloz', labelSelector: 'app=cn' })).items.some((p) =>
          p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
        ),
      20_000,
      'a Ready pod',
    );
    const byField = await core.listNamespacedPod({
      namespace: 'veloz',
      fieldSelector: 'status.phase=Running',
      labelSelector: 'app=cn',
    });
    expect(byField.items).toHaveLength(1);
    expect(byField.items[0]?.status?.containerStatuses?.[0]?.ready).toBe(true);

    const scaled = await apps.patchNamespacedDeployment(
      { namespace: 'veloz', name: 'cn', body: { spec: { replicas: 2 } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    expect(scaled.spec?.replicas).toBe(2);
    expect(scaled.metadata?.generation).toBe(2);
    const strategic = await apps.patchNamespacedDeployment(
      {
        namespace: 'veloz',
        name: 'cn',
        body: { spec: { template: { spec: { containers: [{ name: 'main', image: 'veloz/engine:2' }] } } } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
    );
    expect(strategic.spec?.template.spec?.containers).toHaveLength(1);
    expect(strategic.spec?.template.spec?.containers[0]?.image).toBe('veloz/engine:2');
    const json = await failure(
      apps.patchNamespacedDeployment(
        {
          namespace: 'veloz',
          name: 'cn',
          body: [
            { op: 'replace', path: '/metadata/labels/tier', value: 'x' },
            { op: 'add', path: '/metadata/labels/tier', value: 'engine' },
          ],
        },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
      ),
    );
    // 'replace' on a missing key is invalid JSON patch: a 422, not a silent success.
    expect(json.code).toBe(422);
    await eventually(
      async () => {
        const d = await apps.readNamespacedDeployment({ namespace: 'veloz', name: 'cn' });
        return (
          d.status?.observedGeneration === d.metadata?.generation &&
          d.status?.updatedReplicas === 2 &&
          d.status?.availableReplicas === 2
        );
      },
      20_000,
      'rollout of cn',
    );
  });

  test('watch delivers ADDED/MODIFIED from a resourceVersion, and 410 Gone after compaction', async () => {
    const list = await apps.listNamespacedDeployment({ namespace: 'veloz' });
    const rv = list.metadata?.resourceVersion ?? '';
    const seen: string[] = [];
    const watch = new k8s.Watch(kc);
    const req = await watch.watch(
      '/apis/apps/v1/namespaces/veloz/deployments',
      { resourceVersion: rv, allowWatchBookmarks: true },
      (type, obj: k8s.V1Deployment) => {
        if (obj.metadata?.name === 'watched') seen.push(type);
      },
      () => {},
    );
    await apps.createNamespacedDeployment({ namespace: 'veloz', body: deployment('watched', 'veloz/engine:1') });
    await eventually(() => seen.includes('ADDED') && seen.includes('MODIFIED'), 20_000, 'watch events');
    req.abort();

    sb.compact();
    const errors: unknown[] = [];
    const events: { type: string; obj: unknown }[] = [];
    await new Promise<void>((resolve) => {
      void watch.watch(
        '/apis/apps/v1/namespaces/veloz/deployments',
        { resourceVersion: rv },
        (type, obj) => events.push({ type, obj }),
        (err) => {
          errors.push(err);
          resolve();
        },
      );
    });
    expect(events).toEqual([
      { type: 'ERROR', obj: expect.objectContaining({ kind: 'Status', code: 410, reason: 'Expired' }) },
    ]);
  });

  test('an informer lists, watches and sees deletions', async () => {
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/veloz/configmaps', () =>
      core.listNamespacedConfigMap({ namespace: 'veloz' }),
    );
    const added: string[] = [];
    const deleted: string[] = [];
    informer.on('add', (o) => added.push(o.metadata?.name ?? ''));
    informer.on('delete', (o) => deleted.push(o.metadata?.name ?? ''));
    await informer.start();
    await core.createNamespacedConfigMap({ namespace: 'veloz', body: { metadata: { name: 'inf' }, data: { a: '1' } } });
    await eventually(() => added.includes('inf'), 10_000, 'informer add');
    await core.deleteNamespacedConfigMap({ namespace: 'veloz', name: 'inf' });
    await eventually(() => deleted.includes('inf'), 10_000, 'informer delete');
    await informer.stop();
  });

  test('errors arrive as ApiException with Kubernetes Status bodies', async () => {
    const missing = await failure(apps.readNamespacedDeployment({ namespace: 'veloz', name: 'nope' }));
    expect(missing.code).toBe(404);
    expect(JSON.parse(String(missing.body))).toMatchObject({
      kind: 'Status',
      reason: 'NotFound',
      message: 'deployments.apps "nope" not found',
    });

    const current = await apps.readNamespacedDeployment({ namespace: 'veloz', name: 'cn' });
    const stale = { ...current, metadata: { ...current.metadata, resourceVersion: '1' } };
    const conflict = await failure(apps.replaceNamespacedDeployment({ namespace: 'veloz', name: 'cn', body: stale }));
    expect(conflict.code).toBe(409);
    expect(JSON.parse(String(conflict.body))).toMatchObject({ reason: 'Conflict' });

    sb.faults.add({
      verbs: ['list'],
      resources: ['pods'],
      action: { type: 'status', code: 429, retryAfterSeconds: 1 },
      count: 1,
    });
    const limited = await failure(core.listNamespacedPod({ namespace: 'veloz' }));
    expect(limited.code).toBe(429);
    expect(limited.headers['retry-after']).toBe('1');
    expect((await core.listNamespacedPod({ namespace: 'veloz' })).items.length).toBeGreaterThan(0);
  });
});
