/** Servers the endpoint-check tests talk to: a silent TCP listener, a TLS "API server proxy", a free port. */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Accepts connections and never answers; counts open sockets so tests can see them closed. */
export interface SilentServer {
  port: number;
  url: string;
  open(): number;
  /** Resolves once every accepted socket has closed (rejects after `timeoutMs`). */
  drained(timeoutMs?: number): Promise<void>;
  accepted(): number;
  stop(): Promise<void>;
}

export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((s) => {
    accepted += 1;
    sockets.add(s);
    s.on('error', () => {});
    // Read (and drop) what arrives, so the client's FIN is seen and the socket closes.
    s.resume();
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    open: () => sockets.size,
    accepted: () => accepted,
    async drained(timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      while (sockets.size > 0) {
        if (Date.now() > deadline) throw new Error(`${sockets.size} socket(s) still open after ${timeoutMs}ms`);
        await sleep(20);
      }
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

export interface Pem {
  cert: string;
  key: string;
}

/** A self-signed certificate for 127.0.0.1 (it is its own CA). */
export function selfSignedCert(): Pem {
  const dir = mkdtempSync(join(tmpdir(), 'veloz-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=veloz-test-apiserver',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ProxyServer {
  port: number;
  /** Base URL of the proxied pod: `https://127.0.0.1:<port><prefix>`. */
  baseUrl: string;
  /** Requests seen (method, path after the prefix, authorization header). */
  seen: { method: string; path: string; authorization?: string }[];
  stop(): Promise<void>;
}

/**
 * An HTTPS stand-in for the API server's pods/proxy: requires a bearer token, strips the
 * `/api/v1/namespaces/<ns>/pods/<pod>:<port>/proxy` prefix and forwards requests and upgrades to the engine.
 */
export async function startPodProxy(
  pem: Pem,
  token: string,
  upstreamPort: number,
  pod = 'veloz-engine-x',
): Promise<ProxyServer> {
  const prefix = `/api/v1/namespaces/veloz/pods/${pod}:8080/proxy`;
  const seen: ProxyServer['seen'] = [];
  const upgraded = new Set<Duplex>();
  const check = (method: string, url: string, auth: string | undefined): string | number => {
    seen.push({ method, path: url.startsWith(prefix) ? url.slice(prefix.length) : url, authorization: auth });
    if (auth !== `Bearer ${token}`) return 401;
    if (!url.startsWith(prefix)) return 404;
    return url.slice(prefix.length) || '/';
  };
  const server: HttpsServer = createHttpsServer({ cert: pem.cert, key: pem.key }, (req, res) => {
    const path = check(req.method ?? 'GET', req.url ?? '/', req.headers.authorization);
    if (typeof path === 'number') {
      res.writeHead(path, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          status: 'Failure',
          message: path === 401 ? 'Unauthorized' : 'not found',
          code: path,
        }),
      );
      return;
    }
    const headers = { ...req.headers };
    delete headers.authorization;
    const up = httpRequest(
      { host: '127.0.0.1', port: upstreamPort, method: req.method, path, headers, agent: false },
      (ures) => {
        res.writeHead(ures.statusCode ?? 502, ures.headers);
        ures.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  });
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const path = check(req.method ?? 'GET', req.url ?? '/', req.headers.authorization);
    if (typeof path === 'number') {
      socket.end(`HTTP/1.1 ${path} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    upgraded.add(socket);
    const up = connect(upstreamPort, '127.0.0.1', () => {
      const lines = [`${req.method} ${path} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        if ((req.rawHeaders[i] as string).toLowerCase() !== 'authorization') {
          lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
        }
      }
      up.write(`${lines.join('\r\n')}\r\n\r\n`);
      up.write(head);
      socket.pipe(up).pipe(socket);
    });
    up.on('error', () => socket.destroy());
    socket.on('close', () => {
      up.destroy();
      upgraded.delete(socket);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  return {
    port,
    baseUrl: `https://127.0.0.1:${port}${prefix}`,
    seen,
    async stop() {
      for (const s of upgraded) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
