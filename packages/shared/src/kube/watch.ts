import type { Clock } from '../clock';
import { RequestTimeoutError, type Kube } from './client';
import { apiFailure, withRetry } from './errors';

interface KubeObject {
  metadata?: { resourceVersion?: string; name?: string };
}

interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

interface ResumableWatchOptions<T extends KubeObject> {
  kube: Kube;
  /** API path of the collection, e.g. /apis/apps/v1/namespaces/veloz/deployments. */
  path: string;
  query: Record<string, string>;
  list: () => Promise<ListResult<T>>;
  /** The full current state, after the first list and after every re-list (410 Gone). */
  onSnapshot: (items: T[]) => void;
  onEvent: (type: 'ADDED' | 'MODIFIED' | 'DELETED', object: T) => void;
  clock: Clock;
  /** No reconnect attempt starts after this clock time. */
  deadline: number;
  log?: (message: string) => void;
}

type WatchEnd = { kind: 'closed' } | { kind: 'gone' } | { kind: 'error'; error: unknown };

/**
 * A list-then-watch that survives the ways watches end: a dropped connection resumes from the last
 * resourceVersion seen (bookmarks included), 410 Gone re-lists, transient errors back off and retry.
 * Anything else (403, 404 of the collection) stops it with the error.
 */
export class ResumableWatch<T extends KubeObject> {
  restarts = 0;
  relists = 0;
  private stopped = false;
  private active?: AbortController;
  private readonly stopSignal = new AbortController();

  constructor(private readonly options: ResumableWatchOptions<T>) {}

  stop(): void {
    this.stopped = true;
    this.stopSignal.abort();
    this.active?.abort();
  }

  /** Runs until stop(); rejects only on a non-transient failure or when retries run past the deadline. */
  async run(): Promise<void> {
    const o = this.options;
    let resourceVersion = await this.relist();
    let failures = 0;
    while (!this.stopped) {
      const end = await this.watchOnce(resourceVersion, (rv) => (resourceVersion = rv));
      if (this.stopped) return;
      if (end.kind === 'gone' || (end.kind === 'error' && apiFailure(end.error).code === 410)) {
        o.log?.(`watch on ${o.path}: resourceVersion ${resourceVersion} expired (410 Gone), listing again`);
        this.relists++;
        resourceVersion = await this.relist();
        continue;
      }
      if (end.kind === 'error') {
        const failure = apiFailure(end.error);
        if (!failure.transient) throw end.error;
        failures++;
        const delay = failure.retryAfterSeconds
          ? failure.retryAfterSeconds * 1000
          : Math.min(5000, 200 * 2 ** failures);
        if (o.clock.now() + delay > o.deadline) throw end.error;
        o.log?.(`watch on ${o.path} failed (${failure.code ?? ''} ${failure.message}); retrying in ${delay}ms`);
        await o.clock.sleep(delay, this.stopSignal.signal).catch(() => undefined);
      } else {
        failures = 0;
      }
      this.restarts++;
    }
  }

  private async relist(): Promise<string> {
    const o = this.options;
    const result = await withRetry(o.list, {
      clock: o.clock,
      deadline: o.deadline,
      signal: this.stopSignal.signal,
      onRetry: (f, delay) => o.log?.(`listing ${o.path} failed (${f.code ?? ''} ${f.message}); retrying in ${delay}ms`),
    });
    o.onSnapshot(result.items);
    return result.resourceVersion;
  }

  private watchOnce(resourceVersion: string, seen: (rv: string) => void): Promise<WatchEnd> {
    const o = this.options;
    return new Promise<WatchEnd>((resolve) => {
      let gone = false;
      // client-node's watch has no deadline for its set-up: a server that never sends the response
      // headers would hold it for ever. Past the request timeout the connection is destroyed (through
      // the agent the request used) and the attempt counts as a transient failure.
      let agent: { destroy?: () => void } | undefined;
      const establishing = setTimeout(() => {
        resolve({ kind: 'error', error: new RequestTimeoutError(`watch GET ${o.path}`, o.kube.requestTimeoutMs) });
        agent?.destroy?.();
      }, o.kube.requestTimeoutMs);
      const config = {
        getCurrentCluster: () => o.kube.config.getCurrentCluster(),
        applyToFetchOptions: async (init: object) => {
          const options = await o.kube.config.applyToFetchOptions(init as never);
          agent = options.agent as typeof agent;
          return options;
        },
      } as unknown as typeof o.kube.config;
      // stop() while the watch is still being set up: nothing else would end it before the timeout.
      const onStop = (): void => {
        clearTimeout(establishing);
        resolve({ kind: 'closed' });
        agent?.destroy?.();
      };
      this.stopSignal.signal.addEventListener('abort', onStop, { once: true });
      const settled = (): void => {
        clearTimeout(establishing);
        this.stopSignal.signal.removeEventListener('abort', onStop);
      };
      new o.kube.lib.Watch(config)
        .watch(
          o.path,
          { ...o.query, resourceVersion, allowWatchBookmarks: true },
          (type: string, object: T & { code?: number }) => {
            if (type === 'ERROR') {
              // The server ends a too-old watch with an in-stream Status (code 410) rather than an HTTP 410.
              if (object?.code === 410) gone = true;
              this.active?.abort();
              return;
            }
            const rv = object?.metadata?.resourceVersion;
            if (rv) seen(rv);
            if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') o.onEvent(type, object);
          },
          (error: unknown) => {
            settled();
            resolve(gone ? { kind: 'gone' } : error ? { kind: 'error', error } : { kind: 'closed' });
          },
        )
        .then(
          (controller) => {
            settled();
            this.active = controller;
            if (this.stopped) controller.abort();
          },
          (error: unknown) => {
            settled();
            resolve({ kind: 'error', error });
          },
        );
    });
  }
}
