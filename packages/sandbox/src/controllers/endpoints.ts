import type { Registry } from '../api/registry';
import { R } from '../api/resources';
import { deepEqual, type JsonObject, type KubeObject } from '../util';
import { asPod, podReadySince, type Pod } from './helpers';

interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  protocol?: string;
}

/** Keeps one Endpoints object per selector Service: Ready pods in addresses, the rest in notReadyAddresses. */
export class EndpointsController {
  constructor(private readonly reg: Registry) {}

  syncAll(): void {
    const services = this.reg.list(R.services);
    const wanted = new Set(services.map((s) => `${s.metadata.namespace}/${s.metadata.name}`));
    for (const ep of this.reg.list(R.endpoints)) {
      // Endpoints of deleted services go with them (the endpoints controller owns them by name).
      if (
        ep.metadata.labels?.['endpoints.kubernetes.io/managed-by'] === 'endpoint-controller' &&
        !wanted.has(`${ep.metadata.namespace}/${ep.metadata.name}`)
      ) {
        this.reg.delete(R.endpoints, ep.metadata.namespace, ep.metadata.name ?? '');
      }
    }
    for (const svc of services) this.sync(svc);
  }

  private sync(svc: KubeObject): void {
    const spec = svc.spec as { selector?: Record<string, string>; ports?: ServicePort[] };
    if (!spec.selector || Object.keys(spec.selector).length === 0 || svc.metadata.deletionTimestamp) return;
    const selector = spec.selector;
    const pods = this.reg
      .list(R.pods, svc.metadata.namespace)
      .map(asPod)
      .filter(
        (p) =>
          !p.metadata.deletionTimestamp &&
          p.status?.podIP &&
          Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v),
      );
    const address = (p: Pod): JsonObject => ({
      ip: p.status?.podIP,
      nodeName: p.spec?.nodeName,
      targetRef: { kind: 'Pod', namespace: p.metadata.namespace, name: p.metadata.name, uid: p.metadata.uid },
    });
    const ready = pods.filter((p) => podReadySince(p) !== undefined).map(address);
    const notReady = pods.filter((p) => podReadySince(p) === undefined).map(address);
    const ports = (spec.ports ?? []).map((p) => ({
      ...(p.name ? { name: p.name } : {}),
      port: resolveTargetPort(p, pods[0]),
      protocol: p.protocol ?? 'TCP',
    }));
    const subsets =
      ready.length + notReady.length > 0
        ? [
            {
              ...(ready.length ? { addresses: ready } : {}),
              ...(notReady.length ? { notReadyAddresses: notReady } : {}),
              ports,
            },
          ]
        : undefined;
    const name = svc.metadata.name ?? '';
    const labels = { ...svc.metadata.labels, 'endpoints.kubernetes.io/managed-by': 'endpoint-controller' };
    const existing = this.reg.tryGet(R.endpoints, svc.metadata.namespace, name);
    if (!existing) {
      this.reg.create(
        R.endpoints,
        svc.metadata.namespace,
        {
          apiVersion: 'v1',
          kind: 'Endpoints',
          metadata: { name, namespace: svc.metadata.namespace, labels },
          ...(subsets ? { subsets } : {}),
        },
        { asController: true },
      );
      return;
    }
    if (deepEqual(existing.subsets, subsets) && deepEqual(existing.metadata.labels, labels)) return;
    this.reg.mutate(R.endpoints, svc.metadata.namespace, name, (o) => {
      o.metadata.labels = labels;
      if (subsets) o.subsets = subsets;
      else delete o.subsets;
    });
  }
}

/** A numeric targetPort, or a named one looked up in the pod's container ports. */
export function resolveTargetPort(p: ServicePort, pod: Pod | undefined): number {
  const target = p.targetPort ?? p.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of pod?.spec?.containers ?? []) {
    const found = c.ports?.find((cp) => cp.name === target);
    if (found) return found.containerPort;
  }
  return p.port;
}
