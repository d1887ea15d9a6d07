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
  | { type: 'watch-gone' }
  /**
   * Accept the request and never answer, as an overloaded API server or a stuck proxy does, until
   * the rule is removed, cleared or expires (then the request is served as usual).
   */
  | { type: 'hang' };

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

/** A rule as `fault list` shows it: what is left of its count and time. */
export interface FaultStatus extends FaultRule {
  id: number;
  remaining?: number;
  expiresAt?: string;
  /** Requests held by a `hang` rule right now. */
  hanging: number;
}

/** An action to apply, with the rule it came from (a hang waits on its rule). */
export type TakenFault = FaultAction & { ruleId: number };

export interface FaultTarget {
  verb: string;
  resource: string;
  subresource?: string;
  namespace?: string;
}

export class Faults {
  private rules: ActiveFault[] = [];
  private nextId = 1;
  /** Requests held by hang rules, released when their rule goes. */
  private readonly hanging = new Map<number, Set<() => void>>();

  /** Adds a rule; returns an id for remove(). */
  add(rule: FaultRule): number {
    const id = this.nextId++;
    this.rules.push({
      ...rule,
      id,
      ...(rule.count !== undefined ? { remaining: rule.count } : {}),
      ...(rule.durationMs !== undefined ? { expiresAt: Date.now() + rule.durationMs } : {}),
    });
    if (rule.action.type === 'hang' && rule.durationMs !== undefined) {
      setTimeout(() => this.release(id), rule.durationMs).unref();
    }
    return id;
  }

  /** Removes a rule (releasing the requests it holds); false when there was no such rule. */
  remove(id: number): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    const had = this.rules.length < before || this.hanging.has(id);
    this.release(id);
    return had;
  }

  clear(): void {
    this.rules = [];
    for (const id of [...this.hanging.keys()]) this.release(id);
  }

  /** The rules in force, oldest first. */
  list(): FaultStatus[] {
    const now = Date.now();
    return this.rules
      .filter((r) => live(r, now) || this.hanging.has(r.id))
      .map(({ expiresAt, ...r }) => ({
        ...r,
        ...(expiresAt !== undefined ? { expiresAt: new Date(expiresAt).toISOString() } : {}),
        hanging: this.hanging.get(r.id)?.size ?? 0,
      }));
  }

  /**
   * Holds a request of a hang rule until the rule is removed, cleared or expires, or `gone` (the
   * client hung up) fires. A count-limited hang keeps holding the requests it took after its count
   * is spent: only removing the rule lets them go.
   */
  hang(ruleId: number, gone: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.hanging.get(ruleId) ?? new Set<() => void>();
      this.hanging.set(ruleId, waiters);
      const done = (): void => {
        waiters.delete(done);
        if (waiters.size === 0 && this.hanging.get(ruleId) === waiters) this.hanging.delete(ruleId);
        gone.removeEventListener('abort', done);
        resolve();
      };
      waiters.add(done);
      gone.addEventListener('abort', done, { once: true });
      if (gone.aborted) done();
    });
  }

  private release(id: number): void {
    for (const done of [...(this.hanging.get(id) ?? [])]) done();
    this.hanging.delete(id);
  }

  /** The actions that apply to a request (consuming one use of each counted rule). */
  take(t: FaultTarget): TakenFault[] {
    const now = Date.now();
    this.rules = this.rules.filter((r) => live(r, now) || this.hanging.has(r.id));
    const out: TakenFault[] = [];
    const full = t.subresource ? `${t.resource}/${t.subresource}` : t.resource;
    for (const r of this.rules) {
      if (!live(r, now)) continue;
      if (r.verbs && !r.verbs.includes(t.verb)) continue;
      if (r.resources && !r.resources.includes(full) && !(r.resources.includes(t.resource) && !t.subresource)) continue;
      if (r.namespaces && (!t.namespace || !r.namespaces.includes(t.namespace))) continue;
      if ((r.action.type === 'watch-close' || r.action.type === 'watch-gone') && t.verb !== 'watch') continue;
      if (r.remaining !== undefined) r.remaining--;
      out.push({ ...r.action, ruleId: r.id });
    }
    return out;
  }
}

/** A rule still applies to new requests: not expired, count not spent. */
function live(r: ActiveFault, now: number): boolean {
  return (r.expiresAt === undefined || r.expiresAt > now) && (r.remaining === undefined || r.remaining > 0);
}
