/** Streaming market data: Server-Sent Events on `/api/stream` and WebSocket ticks on `/ws/market`. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { snapshot } from './market';

/** Two events a second keeps "at least one per second" true under timer jitter. */
export const STREAM_INTERVAL_MS = 500;

export class MarketStreams {
  private readonly sse = new Set<ServerResponse>();
  private readonly wss = new WebSocketServer({ noServer: true, clientTracking: true });
  private eventId = 0;
  private lastBroadcast = 0;
  private identity: string[] = [];

  constructor(private readonly phase: number) {
    // The handshake answer carries the engine's identity too, as every HTTP response does.
    this.wss.on('headers', (headers: string[]) => headers.push(...this.identity));
  }

  /** Pod name and version sent in the WebSocket handshake response (X-Veloz-Pod, X-Veloz-Version). */
  identify(pod: string, version: string): void {
    this.identity = [`X-Veloz-Pod: ${pod}`, `X-Veloz-Version: ${version}`];
  }

  get connections(): number {
    return this.sse.size + this.wss.clients.size;
  }

  /** Opens an SSE stream; `silent` sends the headers and then nothing, as a wedged publisher would. */
  openSse(req: IncomingMessage, res: ServerResponse, silent: boolean, now: number): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    this.sse.add(res);
    const drop = (): void => {
      this.sse.delete(res);
    };
    req.on('close', drop);
    res.on('close', drop);
    if (!silent) this.writeSse(res, now);
  }

  acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, now: number): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => ws.terminate());
      ws.on('message', (data) => this.onClientMessage(ws, data.toString()));
      ws.send(JSON.stringify({ type: 'snapshot', quotes: snapshot(now, this.phase) }));
    });
  }

  /** Called from the shared tick; streams marked silent get nothing. */
  broadcast(now: number, sseSilent: boolean): void {
    if (now - this.lastBroadcast < STREAM_INTERVAL_MS - 50) return;
    this.lastBroadcast = now;
    if (this.sse.size === 0 && this.wss.clients.size === 0) return;
    if (!sseSilent) for (const res of this.sse) this.writeSse(res, now);
    if (this.wss.clients.size > 0) {
      const messages = snapshot(now, this.phase).map((q) => JSON.stringify({ type: 'tick', ...q }));
      for (const ws of this.wss.clients) {
        if (ws.readyState !== WebSocket.OPEN) continue;
        for (const m of messages) ws.send(m);
      }
    }
  }

  close(): void {
    for (const res of this.sse) res.destroy();
    this.sse.clear();
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }

  private writeSse(res: ServerResponse, now: number): void {
    this.eventId += 1;
    const data = JSON.stringify({ quotes: snapshot(now, this.phase) });
    res.write(`id: ${this.eventId}\nevent: market\ndata: ${data}\n\n`);
  }

  /** Clients may subscribe (as wscat users do); the double acknowledges and keeps sending every symbol. */
  private onClientMessage(ws: WebSocket, text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      ws.send(
        JSON.stringify({
          type: 'error',
          message: 'messages must be JSON, e.g. {"op":"subscribe","symbols":["BTCUSDT"]}',
        }),
      );
      return;
    }
    const op = (msg as { op?: unknown } | null)?.op;
    if (op === 'ping') ws.send(JSON.stringify({ type: 'pong', ts: Date.now() }));
    else if (op === 'subscribe')
      ws.send(JSON.stringify({ type: 'subscribed', symbols: (msg as { symbols?: unknown }).symbols ?? [] }));
    else
      ws.send(
        JSON.stringify({ type: 'error', message: `unknown op ${JSON.stringify(op)}; expected subscribe or ping` }),
      );
  }
}
