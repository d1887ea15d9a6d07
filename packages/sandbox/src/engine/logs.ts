/** The engine's log: timestamped lines kept in a bounded buffer, readable like `kubectl logs` reads them. */

export type LogLevel = 'INFO' | 'WARN' | 'ERROR' | 'DEBUG';

export interface LogEntry {
  /** Milliseconds since the epoch. */
  readonly time: number;
  /** The full line as the container would print it, timestamp first. */
  readonly line: string;
}

export interface LogQuery {
  sinceSeconds?: number;
  tailLines?: number;
}

/** Enough for a long test or demo; older lines are dropped like a rotated container log. */
const CAPACITY = 10_000;

export class EngineLog {
  private entries: LogEntry[] = [];
  private readonly followers = new Set<(line: string) => void>();

  write(level: LogLevel, component: string, message: string, now = Date.now()): void {
    const line = `${new Date(now).toISOString()} ${level.padEnd(5)} [${component}] ${message}`;
    this.entries.push({ time: now, line });
    // Trim in batches so appending stays O(1) amortised.
    if (this.entries.length > CAPACITY * 1.25) this.entries = this.entries.slice(-CAPACITY);
    for (const f of this.followers) {
      try {
        f(line);
      } catch {
        // A broken follower (closed client) must not break the engine or other followers.
      }
    }
  }

  read(q: LogQuery = {}, now = Date.now()): LogEntry[] {
    let result = this.entries;
    if (q.sinceSeconds !== undefined) {
      const from = now - q.sinceSeconds * 1000;
      const first = result.findIndex((e) => e.time >= from);
      result = first < 0 ? [] : result.slice(first);
    }
    if (q.tailLines !== undefined) result = q.tailLines <= 0 ? [] : result.slice(-q.tailLines);
    return result === this.entries ? result.slice() : result;
  }

  follow(onLine: (line: string) => void): () => void {
    // Wrap so the same callback can be subscribed twice and unsubscribed independently.
    const f = (line: string): void => onLine(line);
    this.followers.add(f);
    return () => {
      this.followers.delete(f);
    };
  }

  close(): void {
    this.followers.clear();
  }
}
