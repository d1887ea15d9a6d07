import { clone, type KubeObject } from '../util';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: WatchEventType;
  /** Store key of the resource ("apps/deployments"). */
  resource: string;
  object: KubeObject;
  /** The version replaced by a MODIFIED event (watches use it to turn selector changes into ADDED/DELETED). */
  previous?: KubeObject;
  rv: number;
}

export type StoreListener = (event: StoreEvent) => void;

const objectKey = (namespace: string | undefined, name: string): string => `${namespace ?? ''}/${name}`;

/**
 * The in-memory object store: one global resourceVersion counter (like etcd's revision),
 * an event log that watches resume from, and listeners for controllers and watch streams.
 * It knows nothing about API semantics; the registry layers those on top.
 */
export class Store {
  private revision = 1;
  private readonly tables = new Map<string, Map<string, KubeObject>>();
  private log: StoreEvent[] = [];
  /** Watches from a resourceVersion below this are answered 410 Gone. */
  private compactedRevision = 1;
  private readonly listeners = new Set<StoreListener>();

  constructor(private readonly maxLogEvents = 20_000) {}

  get currentRevision(): number {
    return this.revision;
  }

  get oldestWatchableRevision(): number {
    return this.compactedRevision;
  }

  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.tables.get(resource)?.get(objectKey(namespace, name));
    return found ? clone(found) : undefined;
  }

  /** Objects of a resource (optionally in one namespace), sorted by namespace then name like etcd keys. */
  list(resource: string, namespace?: string): KubeObject[] {
    const table = this.tables.get(resource);
    if (!table) return [];
    const out: KubeObject[] = [];
    for (const [key, obj] of table) {
      if (namespace !== undefined && !key.startsWith(`${namespace}/`)) continue;
      out.push(clone(obj));
    }
    return out.sort((a, b) => compareKeys(a, b));
  }

  /** Stores a new version, stamping metadata.resourceVersion; returns the stored copy. */
  put(resource: string, object: KubeObject, type: 'ADDED' | 'MODIFIED'): KubeObject {
    const name = object.metadata.name;
    if (!name) throw new Error('store.put: object without a name');
    const rv = ++this.revision;
    const stored = clone(object);
    stored.metadata.resourceVersion = String(rv);
    let table = this.tables.get(resource);
    if (!table) this.tables.set(resource, (table = new Map()));
    const key = objectKey(stored.metadata.namespace, name);
    const previous = table.get(key);
    table.set(key, stored);
    this.emit({ type, resource, object: stored, rv, ...(previous ? { previous } : {}) });
    return clone(stored);
  }

  remove(resource: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const table = this.tables.get(resource);
    const key = objectKey(namespace, name);
    const existing = table?.get(key);
    if (!table || !existing) return undefined;
    table.delete(key);
    const rv = ++this.revision;
    // Like the API server, the deletion event carries the revision of the delete itself.
    const gone = clone(existing);
    gone.metadata.resourceVersion = String(rv);
    this.emit({ type: 'DELETED', resource, object: gone, rv });
    return clone(gone);
  }

  /** Events after `rv` for a resource, or 'gone' when the log no longer reaches back that far. */
  eventsSince(resource: string, rv: number): StoreEvent[] | 'gone' {
    if (rv < this.compactedRevision) return 'gone';
    return this.log.filter((e) => e.rv > rv && e.resource === resource);
  }

  subscribe(listener: StoreListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Forgets the event log, so any watch or continue token from before now gets 410 Gone. */
  compact(): void {
    this.log = [];
    this.compactedRevision = ++this.revision;
  }

  private emit(event: StoreEvent): void {
    this.log.push(event);
    if (this.log.length > this.maxLogEvents) {
      const dropped = this.log.splice(0, this.log.length - this.maxLogEvents);
      const last = dropped[dropped.length - 1];
      if (last) this.compactedRevision = last.rv;
    }
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        // A broken listener must not take the store down; surface it for debugging.
        console.error('sandbox store listener failed:', err);
      }
    }
  }
}

function compareKeys(a: KubeObject, b: KubeObject): number {
  const ka = objectKey(a.metadata.namespace, a.metadata.name ?? '');
  const kb = objectKey(b.metadata.namespace, b.metadata.name ?? '');
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
