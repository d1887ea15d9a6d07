/* eslint-disable @typescript-eslint/no-explicit-any -- JSON bodies and messages of many shapes, asserted with expect(). */
/** Clients for the engine double's endpoints, shared by the engine tests. */
import { WebSocket } from 'ws';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function getJson(url: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export function postOrder(
  base: string,
  body: unknown,
  token: string | undefined,
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (token !== undefined) headers.Authorization = `Bearer ${token}`;
  return getJson(`${base}/api/order`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export interface SseCapture {
  status: number;
  contentType: string | null;
  /** Arrival time (ms) and parsed `data:` of each event. */
  events: { at: number; event?: string; data: any }[];
  /** Bytes of body received. */
  bytes: number;
  /** True if the server ended the stream before we stopped listening. */
  ended: boolean;
}

/** Listens to an SSE stream for `ms`, then aborts. */
export async function captureSse(url: string, ms: number): Promise<SseCapture> {
  const ac = new AbortController();
  const res = await fetch(url, { signal: ac.signal });
  const capture: SseCapture = {
    status: res.status,
    contentType: res.headers.get('content-type'),
    events: [],
    bytes: 0,
    ended: false,
  };
  const timer = setTimeout(() => ac.abort(), ms);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        capture.ended = true;
        break;
      }
      capture.bytes += value.length;
      buffer += decoder.decode(value, { stream: true });
      let sep: number;
      while ((sep = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, sep);
        buffer = buffer.slice(sep + 2);
        const fields = Object.fromEntries(
          block.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
        );
        if (fields.data !== undefined)
          capture.events.push({ at: Date.now(), event: fields.event, data: JSON.parse(fields.data) });
      }
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  } finally {
    clearTimeout(timer);
  }
  return capture;
}

/** Collects WebSocket messages for `ms`; resolves with the messages and whether the upgrade was refused. */
export function captureWs(
  url: string,
  ms: number,
  onOpen?: (ws: WebSocket) => void,
): Promise<{ messages: any[]; refusedStatus?: number; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const messages: any[] = [];
    let closedByServer = false;
    let timer: NodeJS.Timeout | undefined;
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      ws.terminate();
      resolve({ messages, refusedStatus: res.statusCode, closedByServer: false });
    });
    ws.on('open', () => {
      onOpen?.(ws);
      timer = setTimeout(() => {
        ws.removeAllListeners('close');
        ws.terminate();
        resolve({ messages, closedByServer });
      }, ms);
    });
    ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
    ws.on('close', () => {
      closedByServer = true;
    });
    ws.on('error', (err) => {
      if (timer) clearTimeout(timer);
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

/** Parses Prometheus text exposition into `name{labels}` → value. */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

export async function scrape(base: string): Promise<Map<string, number>> {
  return parseMetrics(await (await fetch(`${base}/metrics`)).text());
}

/** Polls `probe` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitUntil<T>(what: string, probe: () => Promise<T> | T, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await sleep(50);
  }
}
