/** One API request as the sandbox saw it (the audit-log fields tests and benchmarks care about). */
export interface JournalEntry {
  time: string;
  verb: string;
  /** Resource plural ("deployments"); empty for non-resource URLs like /version. */
  resource: string;
  apiGroup: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  user: string;
  code: number;
  method: string;
  path: string;
  userAgent?: string;
  durationMs: number;
}

export type JournalFilter = Partial<
  Pick<JournalEntry, 'verb' | 'resource' | 'subresource' | 'namespace' | 'name' | 'user' | 'code'>
> & { since?: number };

/** Bounded in-memory journal of every request. */
export class Journal {
  private entries: JournalEntry[] = [];
  constructor(private readonly max = 100_000) {}

  record(entry: JournalEntry): void {
    this.entries.push(entry);
    if (this.entries.length > this.max) this.entries.splice(0, this.entries.length - this.max);
  }

  /** Entries matching every given field (and newer than `since`, epoch ms). */
  list(filter: JournalFilter = {}): JournalEntry[] {
    const { since, ...fields } = filter;
    return this.entries.filter(
      (e) =>
        (since === undefined || Date.parse(e.time) >= since) &&
        Object.entries(fields).every(([k, v]) => v === undefined || e[k as keyof JournalEntry] === v),
    );
  }

  clear(): void {
    this.entries = [];
  }

  /** JSON Lines, one entry per line. */
  dump(filter?: JournalFilter): string {
    return (
      this.list(filter)
        .map((e) => JSON.stringify(e))
        .join('\n') + (this.entries.length ? '\n' : '')
    );
  }
}
