/** API faults switchable at run time (issue 4 item 4): the ways real API servers misbehave under load. */
export type FaultAction =
  | { type: 'status'; code: number; retryAfterSeconds?: number; message?: string }
  | { type: 'latency'; ms: number }
  /** Destroy the TCP connection without answering. */
  | { type: 'reset' }
  /**
   * Accept a watch, then close it after `afterMs`: cleanly (the response ends, as when the API
   * server's watch timeout fires), or with `abrupt: true` by dropping the connection mid-stream.
   */
  | { type: 'watch-close'; afterMs: number; abrupt?: boolean }
  /** Answer a watch with 410 Gone (ERROR event), as after etcd compaction. */
  | { type: 'watch-gone' };

export interface FaultRule {
  /** Verbs to match (get, list, watch, create, update, patch, delete, deletecollection); all if omitted. */
  verbs?: string[];
  /** Resources to match: "deployments", "pods/log"; all if omitted. */
  resources?: string[];
  namespaces?: string[];
  action: FaultAction;
  /** Applies to this many matching requests, then expires. */
  count?: number;
  /** Applies for this long from when it was added. */
  durationMs?: number;
}

interface ActiveFault extends FaultRule {
  id: number;
  remaining?: number;
  expiresAt?: number;
}

export interface FaultTarget {
  verb: string;
  resource: string;
  subresource?: string;
  namespace?: string;
}

export class Faults {
  private rules: ActiveFault[] = [];
  private nextId = 1;

  /** Adds a rule; returns an id for remove(). */
  add(rule: FaultRule): number {
    const id = this.nextId++;
    this.rules.push({
      ...rule,
      id,
      ...(rule.count !== undefined ? { remaining: rule.count } : {}),
      ...(rule.durationMs !== undefined ? { expiresAt: Date.now() + rule.durationMs } : {}),
    });
    return id;
  }

  remove(id: number): void {
    this.rules = this.rules.filter((r) => r.id !== id);
  }

  clear(): void {
    this.rules = [];
  }

  /** The actions that apply to a request (consuming one use of each counted rule). */
  take(t: FaultTarget): FaultAction[] {
    const now = Date.now();
    this.rules = this.rules.filter(
      (r) => (r.expiresAt === undefined || r.expiresAt > now) && (r.remaining === undefined || r.remaining > 0),
    );
    const out: FaultAction[] = [];
    const full = t.subresource ? `${t.resource}/${t.subresource}` : t.resource;
    for (const r of this.rules) {
      if (r.verbs && !r.verbs.includes(t.verb)) continue;
      if (r.resources && !r.resources.includes(full) && !(r.resources.includes(t.resource) && !t.subresource)) continue;
      if (r.namespaces && (!t.namespace || !r.namespaces.includes(t.namespace))) continue;
      if ((r.action.type === 'watch-close' || r.action.type === 'watch-gone') && t.verb !== 'watch') continue;
      if (r.remaining !== undefined) r.remaining--;
      out.push(r.action);
    }
    return out;
  }
}
