/**
 * Green's own Service for a weighted canary, `<service>-green`: blue's ports, a selector matching
 * green's pods alone, and green as its owner, so removing green removes it too (the garbage
 * collector deletes dependents).
 */
import type * as k8s from '@kubernetes/client-node';
import type { Kube } from './client';
import { greenName, greenSelector } from './green';
import { FIELD_MANAGER, greenServiceName } from './http-route';
import { unlessNotFound } from './errors';

export function greenServiceSpec(blue: k8s.V1Service, green: k8s.V1Deployment, deployment: string): k8s.V1Service {
  const name = greenServiceName(blue.metadata?.name ?? '');
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace: blue.metadata?.namespace,
      labels: { ...greenSelector(deployment) },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          name: greenName(deployment),
          uid: green.metadata?.uid ?? '',
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      type: 'ClusterIP',
      selector: greenSelector(deployment),
      ports: (blue.spec?.ports ?? []).map((p) => ({
        name: p.name,
        port: p.port,
        targetPort: p.targetPort,
        protocol: p.protocol,
        appProtocol: p.appProtocol,
      })),
    },
  };
}

/** What a leftover green Service would need changed to be this one: selector, ports or owner. */
function sameService(a: k8s.V1Service, b: k8s.V1Service): boolean {
  const key = (s: k8s.V1Service) =>
    JSON.stringify([
      s.spec?.selector,
      (s.spec?.ports ?? []).map((p) => [p.name, p.port, String(p.targetPort ?? p.port), p.protocol ?? 'TCP']),
      s.metadata?.ownerReferences?.map((o) => o.uid),
    ]);
  return key(a) === key(b);
}

export async function findService(kube: Kube, namespace: string, name: string) {
  return unlessNotFound(kube.core.readNamespacedService({ name, namespace }));
}

/** Creates green's Service, or replaces a leftover's (an older green's owner, other ports); a match is left alone. */
export async function applyGreenService(kube: Kube, svc: k8s.V1Service): Promise<'created' | 'replaced' | 'unchanged'> {
  const namespace = svc.metadata?.namespace ?? '';
  const name = svc.metadata?.name ?? '';
  const existing = await findService(kube, namespace, name);
  if (!existing) {
    await kube.core.createNamespacedService({ namespace, body: svc, fieldManager: FIELD_MANAGER });
    return 'created';
  }
  if (sameService(existing, svc)) return 'unchanged';
  const body: k8s.V1Service = {
    ...svc,
    metadata: { ...svc.metadata, resourceVersion: existing.metadata?.resourceVersion },
    spec: { ...svc.spec, clusterIP: existing.spec?.clusterIP, clusterIPs: existing.spec?.clusterIPs },
  };
  await kube.core.replaceNamespacedService({ name, namespace, body, fieldManager: FIELD_MANAGER });
  return 'replaced';
}
