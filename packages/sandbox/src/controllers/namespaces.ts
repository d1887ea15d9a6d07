import type { Registry } from '../api/registry';
import { R, RESOURCES } from '../api/resources';

/** Empties terminating namespaces before removing them, and gives every namespace its default ServiceAccount. */
export class NamespaceController {
  constructor(private readonly reg: Registry) {}

  syncAll(): void {
    for (const ns of this.reg.list(R.namespaces)) {
      const name = ns.metadata.name ?? '';
      if (!ns.metadata.deletionTimestamp) {
        if (!this.reg.tryGet(R.serviceaccounts, name, 'default')) {
          this.reg.create(
            R.serviceaccounts,
            name,
            { metadata: { name: 'default', namespace: name } },
            { asController: true },
          );
        }
        continue;
      }
      let remaining = 0;
      for (const def of RESOURCES.filter((r) => r.namespaced && r.verbs.includes('list'))) {
        for (const o of this.reg.list(def, name)) {
          remaining++;
          if (!o.metadata.deletionTimestamp)
            this.reg.delete(def, name, o.metadata.name ?? '', { propagationPolicy: 'Background' });
        }
      }
      if (remaining === 0) this.reg.finalizeDeletion(R.namespaces, undefined, name);
    }
  }
}
