import { randomBytes } from 'node:crypto';
import type { Registry } from '../api/registry';
import { R } from '../api/resources';
import { rfc3339, type KubeObject } from '../util';

export interface EventSource {
  component: string;
  host?: string;
}

/**
 * Records core/v1 Events the way `kubectl describe` lists them; repeats of the same
 * reason+message on the same object bump count/lastTimestamp instead of piling up.
 */
export class EventRecorder {
  private readonly seen = new Map<string, string>();

  constructor(
    private readonly registry: Registry,
    private readonly maxPerNamespace = 2000,
  ) {}

  normal(obj: KubeObject, reason: string, message: string, source: EventSource): void {
    this.record(obj, 'Normal', reason, message, source);
  }

  warning(obj: KubeObject, reason: string, message: string, source: EventSource): void {
    this.record(obj, 'Warning', reason, message, source);
  }

  record(obj: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string, source: EventSource): void {
    const namespace = obj.metadata.namespace ?? 'default';
    const key = `${obj.metadata.uid}|${type}|${reason}|${message}|${source.component}`;
    const now = rfc3339();
    const existing = this.seen.get(key);
    if (existing) {
      const updated = this.registry.mutate(R.events, namespace, existing, (e) => {
        e.count = ((e.count as number | undefined) ?? 1) + 1;
        e.lastTimestamp = now;
      });
      if (updated) return;
    }
    const name = `${obj.metadata.name ?? 'object'}.${randomBytes(8).toString('hex')}`;
    try {
      this.registry.create(
        R.events,
        namespace,
        {
          metadata: { name, namespace },
          involvedObject: {
            kind: obj.kind,
            namespace: obj.metadata.namespace,
            name: obj.metadata.name,
            uid: obj.metadata.uid,
            apiVersion: obj.apiVersion,
            resourceVersion: obj.metadata.resourceVersion,
          },
          reason,
          message,
          source,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          type,
          reportingComponent: source.component,
          reportingInstance: source.host ?? '',
        },
        { asController: true },
      );
      this.seen.set(key, name);
      this.prune(namespace);
    } catch {
      // The namespace may be going away; events are best effort, as in Kubernetes.
    }
  }

  private prune(namespace: string): void {
    const events = this.registry.list(R.events, namespace);
    if (events.length <= this.maxPerNamespace) return;
    events.sort((a, b) => String(a.lastTimestamp).localeCompare(String(b.lastTimestamp)));
    for (const e of events.slice(0, events.length - this.maxPerNamespace)) {
      this.registry.finalizeDeletion(R.events, namespace, e.metadata.name ?? '');
    }
  }
}
