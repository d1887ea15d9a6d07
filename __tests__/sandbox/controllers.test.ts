import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { startSandbox, type KubeObject, type Sandbox } from '@veloz/sandbox';
import { eventually } from './support';

type DeploymentStatus = {
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  updatedReplicas?: number;
  observedGeneration?: number;
  conditions?: { type: string; status: string; reason: string }[];
};
const status = (o: KubeObject | undefined): DeploymentStatus => (o?.status ?? {}) as DeploymentStatus;
const revisions = (sb: Sandbox, app: string): string[] =>
  sb
    .list('replicasets', 'veloz', `app=${app}`)
    .map((rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? '')
    .sort((a, b) => Number(a) - Number(b));

function deployment(name: string, image: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'veloz' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image }] } },
      ...spec,
    },
  };
}

const complete = (sb: Sandbox, name: string, replicas = 2) =>
  sb.waitFor(
    'deployments',
    'veloz',
    name,
    (d) => {
      const s = status(d);
      return (
        s.observedGeneration === d?.metadata.generation &&
        s.updatedReplicas === replicas &&
        s.availableReplicas === replicas &&
        s.replicas === replicas
      );
    },
    30_000,
  );

describe('controllers', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({ podStartupDelayMs: 50, probeIntervalMs: 50, engineSyntheticRps: 0, engines: true });
  });
  afterAll(async () => {
    await sb.stop();
  });

  test('rolling update never exceeds maxSurge or drops below maxUnavailable', async () => {
    sb.apply(
      deployment('roll', 'veloz/engine:1', {
        replicas: 4,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      }),
    );
    await complete(sb, 'roll', 4);
    let maxPods = 0;
    let minAvailable = Infinity;
    const sample = setInterval(() => {
      const pods = sb.list('pods', 'veloz', 'app=roll').filter((p) => !p.metadata.deletionTimestamp);
      maxPods = Math.max(maxPods, pods.length);
      minAvailable = Math.min(minAvailable, status(sb.get('deployments', 'veloz', 'roll')).availableReplicas ?? 0);
    }, 5);
    sb.apply(
      deployment('roll', 'veloz/engine:2', {
        replicas: 4,
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      }),
    );
    await complete(sb, 'roll', 4);
    clearInterval(sample);
    expect(maxPods).toBeLessThanOrEqual(5);
    expect(minAvailable).toBeGreaterThanOrEqual(4);
    expect(revisions(sb, 'roll')).toEqual(['1', '2']);
  });

  test('revisionHistoryLimit prunes old ReplicaSets', async () => {
    sb.apply(deployment('hist', 'veloz/engine:1', { revisionHistoryLimit: 1 }));
    await complete(sb, 'hist');
    for (const tag of ['2', '3', '4']) {
      sb.apply(deployment('hist', `veloz/engine:${tag}`, { revisionHistoryLimit: 1 }));
      await complete(sb, 'hist');
    }
    await eventually(() => revisions(sb, 'hist').join() === '3,4', 10_000, 'history pruned to one old ReplicaSet');
  });

  test('paused deployments do not roll out until resumed', async () => {
    sb.apply(deployment('paused', 'veloz/engine:1'));
    await complete(sb, 'paused');
    sb.apply(deployment('paused', 'veloz/engine:2', { paused: true }));
    await eventually(
      () => status(sb.get('deployments', 'veloz', 'paused')).conditions?.some((c) => c.reason === 'DeploymentPaused'),
      10_000,
      'DeploymentPaused',
    );
    expect(revisions(sb, 'paused')).toEqual(['1']);
    sb.apply(deployment('paused', 'veloz/engine:2', { paused: false }));
    await complete(sb, 'paused');
    expect(revisions(sb, 'paused')).toEqual(['1', '2']);
  });

  test('minReadySeconds delays availability; Recreate replaces all pods at once', async () => {
    sb.apply(deployment('slow', 'veloz/engine:1', { replicas: 1, minReadySeconds: 2 }));
    await sb.waitFor('deployments', 'veloz', 'slow', (d) => status(d).readyReplicas === 1, 20_000);
    expect(status(sb.get('deployments', 'veloz', 'slow')).availableReplicas ?? 0).toBe(0);
    await complete(sb, 'slow', 1);

    sb.apply(deployment('recreate', 'veloz/engine:1', { strategy: { type: 'Recreate' } }));
    await complete(sb, 'recreate');
    let mixed = false;
    const sample = setInterval(() => {
      const images = new Set(
        sb
          .list('pods', 'veloz', 'app=recreate')
          .map((p) => (p.spec as { containers: { image: string }[] }).containers[0]?.image),
      );
      if (images.size > 1) mixed = true;
    }, 5);
    sb.apply(deployment('recreate', 'veloz/engine:2', { strategy: { type: 'Recreate' } }));
    await complete(sb, 'recreate');
    clearInterval(sample);
    expect(mixed).toBe(false);
  });

  test('the HPA keeps its target within min/max', async () => {
    sb.apply(deployment('scaled', 'veloz/engine:1', { replicas: 1 }));
    sb.apply({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: { name: 'scaled', namespace: 'veloz' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'scaled' },
        minReplicas: 2,
        maxReplicas: 3,
      },
    });
    await sb.waitFor('deployments', 'veloz', 'scaled', (d) => (d?.spec as { replicas: number }).replicas === 2, 10_000);
    await sb.request(
      'PATCH',
      '/apis/apps/v1/namespaces/veloz/deployments/scaled/scale',
      { spec: { replicas: 9 } },
      { contentType: 'application/merge-patch+json' },
    );
    await sb.waitFor('deployments', 'veloz', 'scaled', (d) => (d?.spec as { replicas: number }).replicas === 3, 10_000);
    await sb.waitFor(
      'horizontalpodautoscalers',
      'veloz',
      'scaled',
      (h) => (h?.status as { desiredReplicas?: number } | undefined)?.desiredReplicas === 3,
      10_000,
    );
    expect(sb.list('events', 'veloz').some((e) => e.reason === 'SuccessfulRescale')).toBe(true);
  });

  test('deleting a namespace removes everything in it', async () => {
    sb.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } });
    sb.apply({ ...deployment('d', 'veloz/engine:1', { replicas: 1 }), metadata: { name: 'd', namespace: 'doomed' } });
    await eventually(() => sb.list('pods', 'doomed').length === 1, 10_000, 'pod in doomed');
    expect(sb.get('serviceaccounts', 'doomed', 'default')).toBeDefined();
    await sb.request('DELETE', '/api/v1/namespaces/doomed');
    await eventually(() => !sb.get('namespaces', undefined, 'doomed'), 20_000, 'namespace gone');
    expect(sb.list('pods', 'doomed')).toHaveLength(0);
    expect(sb.list('deployments', 'doomed')).toHaveLength(0);
  });
});
