import type { Registry } from '../api/registry';
import { findResourceByKind, R, type ResourceDef } from '../api/resources';
import type { KubeObject } from '../util';

// Kinds that can have owners here (what the controllers and clients create with ownerReferences).
const DEPENDENT_KINDS: ResourceDef[] = [
  R.replicasets,
  R.pods,
  R.configmaps,
  R.secrets,
  R.services,
  R.deployments,
  R.hpas,
  R.leases,
  R.serviceaccounts,
];

/**
 * Garbage collection by ownerReferences: dependents whose owners are all gone are deleted
 * (background propagation); owners in foreground deletion wait until their dependents are gone.
 */
export class GarbageCollector {
  constructor(private readonly reg: Registry) {}

  syncAll(): void {
    const liveUids = new Map<string, KubeObject>();
    const dependents: [ResourceDef, KubeObject][] = [];
    for (const def of DEPENDENT_KINDS) {
      for (const o of this.reg.list(def)) {
        if (o.metadata.uid) liveUids.set(o.metadata.uid, o);
        if (o.metadata.ownerReferences?.length) dependents.push([def, o]);
      }
    }
    for (const [def, o] of dependents) {
      const refs = o.metadata.ownerReferences ?? [];
      const owners = refs.map(
        (r) => liveUids.get(r.uid) ?? this.lookup(r.apiVersion, r.kind, o.metadata.namespace, r.name, r.uid),
      );
      const allGone = owners.every((x) => !x);
      const foregroundOwner = owners.some(
        (x) => x?.metadata.deletionTimestamp && x.metadata.finalizers?.includes('foregroundDeletion'),
      );
      if ((allGone || foregroundOwner) && !o.metadata.deletionTimestamp) {
        this.reg.delete(
          def,
          o.metadata.namespace,
          o.metadata.name ?? '',
          foregroundOwner ? { propagationPolicy: 'Foreground' } : { propagationPolicy: 'Background' },
        );
      }
    }
    // Foreground owners let go once nothing refers to them any more.
    for (const def of DEPENDENT_KINDS) {
      for (const o of this.reg.list(def)) {
        if (!o.metadata.deletionTimestamp || !o.metadata.finalizers?.includes('foregroundDeletion')) continue;
        const stillOwned = dependents.some(
          ([, d]) => d.metadata.ownerReferences?.some((r) => r.uid === o.metadata.uid) && this.exists(d),
        );
        if (!stillOwned) {
          this.reg.mutate(def, o.metadata.namespace, o.metadata.name ?? '', (x) => {
            x.metadata.finalizers = x.metadata.finalizers?.filter((f) => f !== 'foregroundDeletion');
          });
        }
      }
    }
  }

  private exists(o: KubeObject): boolean {
    const def = findResourceByKind(o.apiVersion ?? '', o.kind ?? '');
    return !!def && !!this.reg.tryGet(def, o.metadata.namespace, o.metadata.name ?? '');
  }

  private lookup(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
    uid: string,
  ): KubeObject | undefined {
    const def = findResourceByKind(apiVersion, kind);
    if (!def) return { metadata: { uid } }; // unknown owner kinds are assumed alive: never collect what we cannot see
    const found = this.reg.tryGet(def, namespace, name);
    return found?.metadata.uid === uid ? found : undefined;
  }
}
