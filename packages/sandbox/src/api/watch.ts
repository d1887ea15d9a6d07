import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FieldSelector, LabelSelector } from './selectors';
import { toTable, type IncludeObject } from './tables';
import { apiVersionOf, resourceKey, type ResourceDef } from './resources';
import type { Store, StoreEvent } from '../store/store';
import type { KubeObject } from '../util';

export interface WatchRequest {
  def: ResourceDef;
  namespace?: string;
  labels: LabelSelector;
  fields: FieldSelector;
  resourceVersion?: string;
  sendInitialEvents: boolean;
  allowBookmarks: boolean;
  timeoutSeconds?: number;
  bookmarkIntervalMs: number;
  /** Render objects as Tables (kubectl get -w). */
  table?: IncludeObject;
}

/** Hooks the fault injector uses to break a watch the way real API servers do. */
export interface WatchControl {
  /** Close the stream after this many ms (a watch ended mid-stream). */
  closeAfterMs?: number;
  /** Drop the connection instead of ending the response cleanly. */
  abrupt?: boolean;
  /** Answer with 410 Gone instead of resuming. */
  forceGone?: boolean;
}

/**
 * Serves a watch stream: JSON events, one per line, over a chunked 200 response, resumable from a
 * resourceVersion; answers an ERROR event with 410 when that version has been compacted away.
 */
export function serveWatch(
  store: Store,
  w: WatchRequest,
  req: IncomingMessage,
  res: ServerResponse,
  control: WatchControl = {},
): void {
  const key = resourceKey(w.def);
  const inScope = (o: KubeObject): boolean => w.namespace === undefined || o.metadata.namespace === w.namespace;
  const matches = (o: KubeObject | undefined): boolean =>
    !!o && inScope(o) && w.labels(o.metadata.labels) && w.fields(o);
  let closed = false;
  let first = true;

  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  res.flushHeaders();

  const send = (type: string, object: unknown): void => {
    if (closed) return;
    let payload = object;
    if (w.table && type !== 'BOOKMARK' && type !== 'ERROR') {
      payload = toTable(
        w.def.kind,
        [object as KubeObject],
        w.table,
        { resourceVersion: (object as KubeObject).metadata.resourceVersion ?? '' },
        first,
      );
      first = false;
    }
    res.write(`${JSON.stringify({ type, object: payload })}\n`);
  };
  const bookmark = (annotations?: Record<string, string>): void =>
    send('BOOKMARK', {
      kind: w.def.kind,
      apiVersion: apiVersionOf(w.def),
      metadata: { resourceVersion: String(store.currentRevision), ...(annotations ? { annotations } : {}) },
    });

  const deliver = (e: StoreEvent): void => {
    if (e.resource !== key) return;
    const now = matches(e.object);
    if (e.type === 'MODIFIED') {
      const before = matches(e.previous);
      if (now && before) send('MODIFIED', e.object);
      else if (now) send('ADDED', e.object);
      else if (before) send('DELETED', e.object);
      return;
    }
    if (now) send(e.type, e.object);
  };

  const timers: NodeJS.Timeout[] = [];
  let unsubscribe = (): void => {};
  const finish = (): void => {
    if (closed) return;
    closed = true;
    unsubscribe();
    timers.forEach(clearTimeout);
    timers.forEach(clearInterval);
    res.end();
  };
  req.on('close', finish);
  res.on('close', finish);

  const rv = w.resourceVersion;
  if (control.forceGone || (rv && rv !== '0' && !w.sendInitialEvents)) {
    const events = control.forceGone ? 'gone' : store.eventsSince(key, Number(rv));
    if (events === 'gone' || Number.isNaN(Number(rv))) {
      send('ERROR', {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `too old resource version: ${rv ?? ''} (${store.oldestWatchableRevision})`,
        reason: 'Expired',
        code: 410,
      });
      finish();
      return;
    }
    unsubscribe = store.subscribe(deliver);
    for (const e of events) deliver(e);
  } else {
    // No resourceVersion, "0", or sendInitialEvents: synthetic ADDED events for the current state first.
    unsubscribe = store.subscribe(deliver);
    for (const o of store.list(key, w.def.namespaced ? w.namespace : undefined)) if (matches(o)) send('ADDED', o);
    if (w.sendInitialEvents && w.allowBookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
  }
  if (w.allowBookmarks) timers.push(setInterval(() => bookmark(), w.bookmarkIntervalMs));
  if (w.timeoutSeconds && w.timeoutSeconds > 0) timers.push(setTimeout(finish, w.timeoutSeconds * 1000));
  if (control.closeAfterMs !== undefined) {
    timers.push(
      setTimeout(() => {
        if (!control.abrupt) return finish();
        // Drop the connection without the terminating chunk, like a failing proxy would.
        closed = true;
        unsubscribe();
        timers.forEach(clearTimeout);
        res.socket?.destroy();
      }, control.closeAfterMs),
    );
  }
}
