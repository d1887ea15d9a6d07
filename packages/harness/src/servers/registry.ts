/**
 * A real OCI registry (Debian docker-registry = distribution 2.8) on 127.0.0.1 for tests, with no auth,
 * htpasswd Basic auth, or Bearer token auth. For token auth the registry is real and so is its JWT
 * verification; the token *issuer* is a small loopback server here, signing RS256 JWTs with a
 * self-signed certificate (openssl) that the registry trusts via rootcertbundle.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash, createSign, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { requirePrograms } from '../prerequisites';
import { freePort, killOnExit, stopChild, waitFor } from './server-process';

const run = promisify(execFile);
export const REGISTRY_BIN = process.env.REGISTRY_BIN ?? '/usr/bin/docker-registry';

export type RegistryAuth = 'none' | 'basic' | 'token';

export interface RegistryOptions {
  auth?: RegistryAuth;
  username?: string;
  password?: string;
}

export interface TestRegistry {
  /** host:port, e.g. "127.0.0.1:41234" — prefix of image repositories. */
  host: string;
  url: string;
  auth: RegistryAuth;
  username: string;
  password: string;
  /** Token issuer requests seen (token auth only): query strings and whether credentials were valid. */
  tokenRequests: { scope: string | null; service: string | null; authenticated: boolean }[];
  /** Pushes a tiny image (one config blob, one layer) as `name:tag`; returns the manifest digest. */
  pushImage(name: string, tag: string): Promise<string>;
  /** Deletes the manifest `name:tag` points at (and with it the tag). */
  deleteImage(name: string, tag: string): Promise<void>;
  stop(): Promise<void>;
}

const SERVICE = 'veloz-test-registry';
const ISSUER = 'veloz-test-issuer';

/**
 * htpasswd needs bcrypt, which Node lacks; perl's crypt() goes to libcrypt (libxcrypt on Debian),
 * which does bcrypt, and perl-base is always installed. Avoids apache2-utils or an npm dependency.
 */
async function bcrypt(password: string): Promise<string> {
  const alphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  // The 22nd salt character only carries 2 bits; '.', 'O', 'e', 'u' keep it canonical.
  const salt = [...randomBytes(21)].map((b) => alphabet[b % 64]).join('') + '.';
  const { stdout } = await run('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', password, `$2b$05$${salt}`]);
  if (!stdout.startsWith('$2b$05$')) throw new Error(`libcrypt has no bcrypt: ${stdout}`);
  return stdout;
}

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  requirePrograms('the OCI registry', [...(process.env.REGISTRY_BIN ? [] : ['docker-registry']), 'openssl', 'perl']);
  const auth = options.auth ?? 'none';
  const username = options.username ?? 'deployer';
  const password = options.password ?? 'registry-s3cret';
  const root = await mkdtemp(join(tmpdir(), 'veloz-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const url = `http://${host}`;
  const tokenRequests: TestRegistry['tokenRequests'] = [];
  let tokenServer: Server | undefined;
  let child: ChildProcess | undefined;
  let unregister = (): void => undefined;

  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(root, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${host}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
  ];

  let signingKey = '';
  let certDer = '';
  if (auth === 'basic') {
    await writeFile(join(root, 'htpasswd'), `${username}:${await bcrypt(password)}\n`);
    lines.push('auth:', '  htpasswd:', '    realm: veloz-test', `    path: ${join(root, 'htpasswd')}`);
  } else if (auth === 'token') {
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=veloz-test-token-signer',
      '-keyout',
      join(root, 'token.key'),
      '-out',
      join(root, 'token.crt'),
      '-addext',
      'keyUsage=critical,digitalSignature,keyCertSign',
    ]);
    signingKey = await readFile(join(root, 'token.key'), 'utf8');
    const pem = await readFile(join(root, 'token.crt'), 'utf8');
    certDer = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    const tokenPort = await freePort();
    tokenServer = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const header = req.headers.authorization ?? '';
      const given = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString() : '';
      const authenticated = given === `${username}:${password}`;
      const scope = u.searchParams.get('scope');
      tokenRequests.push({ scope, service: u.searchParams.get('service'), authenticated });
      if (given && !authenticated) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"invalid credentials"}');
        return;
      }
      // Authenticated users get what they asked for; anonymous users get a token with no access.
      const access =
        authenticated && scope
          ? scope.split(' ').map((sc) => {
              const [type, name, actions] = sc.split(':') as [string, string, string];
              return { type, name, actions: actions.split(',') };
            })
          : [];
      const now = Math.floor(Date.now() / 1000);
      const head = b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5c: [certDer] }));
      const claims = b64url(
        JSON.stringify({
          iss: ISSUER,
          sub: authenticated ? username : '',
          aud: SERVICE,
          exp: now + 300,
          nbf: now - 10,
          iat: now,
          jti: randomBytes(8).toString('hex'),
          access,
        }),
      );
      const signature = createSign('RSA-SHA256').update(`${head}.${claims}`).sign(signingKey).toString('base64url');
      const token = `${head}.${claims}.${signature}`;
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
    });
    await new Promise<void>((r) => tokenServer!.listen(tokenPort, '127.0.0.1', r));
    lines.push(
      'auth:',
      '  token:',
      `    realm: http://127.0.0.1:${tokenPort}/token`,
      `    service: ${SERVICE}`,
      `    issuer: ${ISSUER}`,
      `    rootcertbundle: ${join(root, 'token.crt')}`,
    );
  }
  await writeFile(join(root, 'config.yml'), `${lines.join('\n')}\n`);

  // Credentials the fixture itself uses to push/delete.
  const authorize = async (res: Response, scope: string): Promise<string | undefined> => {
    if (auth === 'basic') return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    if (auth === 'token') {
      const challenge = res.headers.get('www-authenticate') ?? '';
      const realm = /realm="([^"]+)"/.exec(challenge)?.[1];
      const t = await fetch(`${realm}?service=${SERVICE}&scope=${encodeURIComponent(scope)}`, {
        headers: { authorization: `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}` },
      });
      return `Bearer ${((await t.json()) as { token: string }).token}`;
    }
    return undefined;
  };
  const call = async (
    method: string,
    path: string,
    scope: string,
    init: { body?: Buffer; headers?: Record<string, string> } = {},
  ): Promise<Response> => {
    const target = path.startsWith('http') ? path : `${url}${path}`;
    let res = await fetch(target, { method, body: init.body, headers: init.headers });
    if (res.status === 401) {
      await res.arrayBuffer();
      const authorization = await authorize(res, scope);
      res = await fetch(target, {
        method,
        body: init.body,
        headers: { ...init.headers, ...(authorization ? { authorization } : {}) },
      });
    }
    return res;
  };
  const uploadBlob = async (name: string, body: Buffer, scope: string): Promise<string> => {
    const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    const start = await call('POST', `/v2/${name}/blobs/uploads/`, scope);
    if (start.status !== 202) throw new Error(`blob upload start: ${start.status} ${await start.text()}`);
    const location = new URL(start.headers.get('location')!, url);
    location.searchParams.set('digest', digest);
    const put = await call('PUT', location.toString(), scope, {
      body,
      headers: { 'content-type': 'application/octet-stream' },
    });
    if (put.status !== 201) throw new Error(`blob upload: ${put.status} ${await put.text()}`);
    return digest;
  };

  const registry: TestRegistry = {
    host,
    url,
    auth,
    username,
    password,
    tokenRequests,
    async pushImage(name, tag) {
      const scope = `repository:${name}:pull,push`;
      const config = Buffer.from(
        JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [] } }),
      );
      const layer = gzipSync(Buffer.from(`veloz test layer ${name}:${tag}\n`));
      const configDigest = await uploadBlob(name, config, scope);
      const layerDigest = await uploadBlob(name, layer, scope);
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
          layers: [
            { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length },
          ],
        }),
      );
      const put = await call('PUT', `/v2/${name}/manifests/${tag}`, scope, {
        body: manifest,
        headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      });
      if (put.status !== 201) throw new Error(`manifest put: ${put.status} ${await put.text()}`);
      return put.headers.get('docker-content-digest')!;
    },
    async deleteImage(name, tag) {
      const scope = `repository:${name}:pull,delete`;
      const head = await call('HEAD', `/v2/${name}/manifests/${tag}`, scope, {
        headers: {
          accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json',
        },
      });
      const digest = head.headers.get('docker-content-digest');
      if (head.status !== 200 || !digest) throw new Error(`manifest head: ${head.status}`);
      const del = await call('DELETE', `/v2/${name}/manifests/${digest}`, scope);
      if (del.status !== 202) throw new Error(`manifest delete: ${del.status} ${await del.text()}`);
    },
    async stop() {
      await stopChild(child, 'SIGTERM', 3000);
      unregister();
      if (tokenServer) {
        tokenServer.closeAllConnections();
        await new Promise<void>((r) => tokenServer!.close(() => r()));
      }
      await rm(root, { recursive: true, force: true });
    },
  };

  try {
    let log = '';
    child = spawn(REGISTRY_BIN, ['serve', join(root, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const s of [child.stdout!, child.stderr!])
      s.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
    unregister = killOnExit(child);
    await waitFor(
      async () => {
        if (child!.exitCode !== null) throw new Error(`docker-registry exited: ${log}`);
        const res = await fetch(`${url}/v2/`);
        await res.arrayBuffer();
        return res.status === 200 || res.status === 401;
      },
      { timeoutMs: 15_000, intervalMs: 100, what: `docker-registry on ${host}` },
    );
  } catch (e) {
    await registry.stop();
    throw e;
  }
  return registry;
}
