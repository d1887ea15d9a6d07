/**
 * A minimal RESP2 client: enough for SENTINEL/ROLE/AUTH. Written instead of loading ioredis because
 * a preflight wants one request/reply exchange with exact errors (code, host, port) and an abort
 * signal, not reconnect loops and offline queues.
 */
import { connect, type Socket } from 'node:net';

export type RespValue = string | number | null | RespValue[] | RespError;

export class RespError extends Error {
  override name = 'RespError';
  /** First word of the server's error, e.g. NOAUTH, WRONGPASS, ERR. */
  readonly kind: string;
  constructor(message: string) {
    super(message);
    this.kind = message.split(' ')[0] ?? 'ERR';
  }
}

/** Parses one value from buf at offset; returns undefined when more bytes are needed. */
function parse(buf: Buffer, at: number): { value: RespValue; next: number } | undefined {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[at]!);
  const head = buf.toString('utf8', at + 1, eol);
  switch (type) {
    case '+':
      return { value: head, next: eol + 2 };
    case '-':
      return { value: new RespError(head), next: eol + 2 };
    case ':':
      return { value: Number(head), next: eol + 2 };
    case '$': {
      const len = Number(head);
      if (len < 0) return { value: null, next: eol + 2 };
      if (buf.length < eol + 2 + len + 2) return undefined;
      return { value: buf.toString('utf8', eol + 2, eol + 2 + len), next: eol + 2 + len + 2 };
    }
    case '*': {
      const n = Number(head);
      if (n < 0) return { value: null, next: eol + 2 };
      const items: RespValue[] = [];
      let next = eol + 2;
      for (let i = 0; i < n; i++) {
        const item = parse(buf, next);
        if (!item) return undefined;
        items.push(item.value);
        next = item.next;
      }
      return { value: items, next };
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}

function encode(args: readonly string[]): Buffer {
  const parts = [`*${args.length}\r\n`];
  for (const a of args) parts.push(`$${Buffer.byteLength(a)}\r\n${a}\r\n`);
  return Buffer.from(parts.join(''));
}

export interface RespConnection {
  /** Sends a command; resolves with the reply (a server error reply is returned as RespError). */
  command(...args: string[]): Promise<RespValue>;
  close(): void;
}

/** Opens a connection; rejects with the socket error (ECONNREFUSED…) or on abort/timeout. */
export function respConnect(
  host: string,
  port: number,
  opts: { signal: AbortSignal; timeoutMs: number },
): Promise<RespConnection> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host, port });
    let buffer: Buffer = Buffer.alloc(0);
    const waiting: { resolve(v: RespValue): void; reject(e: Error): void }[] = [];
    let failed: Error | undefined;

    const fail = (err: Error): void => {
      if (failed) return;
      failed = err;
      socket.destroy();
      for (const w of waiting.splice(0)) w.reject(err);
      reject(err);
    };
    const onAbort = (): void => {
      const e = Object.assign(new Error('aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
      fail(e);
    };
    if (opts.signal.aborted) return onAbort();
    opts.signal.addEventListener('abort', onAbort, { once: true });
    // One inactivity timeout covers connect and every reply: a silent server cannot hang us.
    socket.setTimeout(opts.timeoutMs, () =>
      fail(Object.assign(new Error(`no reply within ${opts.timeoutMs} ms`), { code: 'ETIMEDOUT' })),
    );
    socket.on('error', fail);
    socket.on('close', () => fail(Object.assign(new Error('connection closed by server'), { code: 'ECONNRESET' })));
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      for (;;) {
        let parsed;
        try {
          parsed = parse(buffer, 0);
        } catch (e) {
          return fail(e as Error);
        }
        if (!parsed) break;
        buffer = buffer.subarray(parsed.next);
        waiting.shift()?.resolve(parsed.value);
      }
    });
    socket.once('connect', () => {
      resolve({
        command: (...args) =>
          new Promise<RespValue>((res, rej) => {
            if (failed) return rej(failed);
            waiting.push({ resolve: res, reject: rej });
            socket.write(encode(args));
          }),
        close: () => {
          opts.signal.removeEventListener('abort', onAbort);
          failed ??= new Error('closed');
          socket.removeAllListeners('close');
          socket.on('error', () => undefined);
          socket.destroy();
        },
      });
    });
  });
}

/** Sentinel replies are flat [k1, v1, k2, v2…] arrays. */
export function toRecord(value: RespValue): Record<string, string> {
  const out: Record<string, string> = {};
  if (!Array.isArray(value)) return out;
  for (let i = 0; i + 1 < value.length; i += 2) out[String(value[i])] = String(value[i + 1]);
  return out;
}
