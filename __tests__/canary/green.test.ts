/** packages/shared/src/kube/green.ts from source: green's spec, and find/apply/remove on the sandbox. */
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { systemClock } from '@veloz/shared/clock';
import { connectKube, type Kube } from '@veloz/shared/kube/client';
import {
  applyGreen,
  bluePods,
  findGreen,
  greenPods,
  greenSpec,
  removeGreen,
  servicesSelecting,
} from '@veloz/shared/kube/green';
import { startCluster, type Cluster } from '../support/cluster';
import { endpointPods } from './side-by-side-support';

const SELECTOR = { 'app.kubernetes.io/name': 'veloz', 'app.kubernetes.io/component': 'engine' };
const blue: k8s.V1Deployment = {
  metadata: { name: 'veloz-engine', namespace: 'veloz', labels: { app: 'veloz' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: SELECTOR },
    template: {
      metadata: { labels: { ...SELECTOR, 'app.kubernetes.io/version': '1.1.0' } },
      spec: { containers: [{ name: 'veloz-engine', image: 'veloz/engine:1.1.0' }] },
    },
  },
};

describe('greenSpec', () => {
  test('share: blue pod labels kept (the Service selects green), own name, replicas and selector', () => {
    const green = greenSpec(blue, {
      deployment: 'veloz-engine',
      replicas: 1,
      traffic: 'share',
      serviceSelectors: [SELECTOR],
    });
    expect(green.metadata?.name).toBe('veloz-engine-green');
    expect(green.spec?.replicas).toBe(1);
    expect(green.spec?.selector.matchLabels).toEqual({
      'veloz.io/track': 'green',
      'veloz.io/green-of': 'veloz-engine',
    });
    expect(green.spec?.template.metadata?.labels).toMatchObject({ ...SELECTOR, 'veloz.io/track': 'green' });
    expect(green.spec?.template.spec?.containers[0]?.image).toBe('veloz/engine:1.1.0');
    // the source is not modified
    expect(blue.spec?.template.metadata?.labels?.['veloz.io/track']).toBeUndefined();
  });

  test("none: one of each matching Service's selector labels left out", () => {
    const green = greenSpec(blue, {
      deployment: 'veloz-engine',
      replicas: 1,
      traffic: 'none',
      serviceSelectors: [SELECTOR],
    });
    const labels = green.spec?.template.metadata?.labels ?? {};
    expect(labels['app.kubernetes.io/component']).toBeUndefined();
    expect(labels['app.kubernetes.io/name']).toBe('veloz');
    expect(Object.entries(SELECTOR).every(([k, v]) => labels[k] === v)).toBe(false);
  });
});

describe('green on the sandbox', () => {
  let cluster: Cluster;
  let kube: Kube;
  beforeAll(async () => {
    cluster = await startCluster();
    await cluster.install('1.0.0');
    kube = await connectKube(cluster.sandbox.kubeconfig);
  }, 120_000);
  afterAll(async () => cluster?.stop());

  const waitReady = async (n: number) => {
    for (let i = 0; i < 200; i++) {
      const d = await findGreen(kube, 'veloz', 'veloz-engine');
      if ((d?.status?.readyReplicas ?? 0) >= n) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('green never became ready');
  };

  test('apply, find, route, remove: blue untouched throughout; removal is idempotent', async () => {
    const source = await kube.apps.readNamespacedDeployment({ name: 'veloz-engine', namespace: 'veloz' });
    const labels = source.spec?.template?.metadata?.labels ?? {};
    const services = (await servicesSelecting(kube, 'veloz', labels)).map((svc) => svc.spec?.selector ?? {});
    expect(services).toHaveLength(1);
    const blueBefore = (await bluePods(kube, source)).map((p) => p.metadata?.name).sort();
    expect(blueBefore).toHaveLength(2);
    expect(await findGreen(kube, 'veloz', 'veloz-engine')).toBeUndefined();

    const manifest = greenSpec(source, {
      deployment: 'veloz-engine',
      replicas: 1,
      traffic: 'share',
      serviceSelectors: services,
    });
    expect(await applyGreen(kube, manifest)).toBe('created');
    await waitReady(1);
    const green = (await greenPods(kube, 'veloz', 'veloz-engine')).map((p) => p.metadata?.name ?? '');
    expect(green).toHaveLength(1);
    // bluePods leaves green out although blue's selector matches green's pods
    expect((await bluePods(kube, source)).map((p) => p.metadata?.name).sort()).toEqual(blueBefore);
    expect(endpointPods(cluster.sandbox)).toEqual([...blueBefore, ...green].sort());

    expect(await applyGreen(kube, manifest)).toBe('replaced');
    const removed = await removeGreen(kube, {
      namespace: 'veloz',
      deployment: 'veloz-engine',
      clock: systemClock,
      timeoutMs: 30_000,
    });
    expect(removed.removed).toBe(true);
    expect(removed.pods).toEqual(green);
    expect(await findGreen(kube, 'veloz', 'veloz-engine')).toBeUndefined();
    expect(await greenPods(kube, 'veloz', 'veloz-engine')).toEqual([]);
    expect((await bluePods(kube, source)).map((p) => p.metadata?.name).sort()).toEqual(blueBefore);

    const again = await removeGreen(kube, {
      namespace: 'veloz',
      deployment: 'veloz-engine',
      clock: systemClock,
      timeoutMs: 30_000,
    });
    expect(again).toEqual({ removed: false, pods: [], durationMs: 0 });
  }, 60_000);
});
