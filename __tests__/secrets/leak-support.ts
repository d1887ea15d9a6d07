/**
 * The secret-leak suite's planted values and the search over every channel an action writes to.
 * Each planted value is unique text no action would ever print on its own, so any hit is a leak.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ActionRun } from '@veloz/harness';

const tag = (name: string): string => `LEAK${name}${randomBytes(6).toString('hex')}`;

/** Planted secrets, by where they are planted. Some carry URL-special characters on purpose. */
export const PLANTED = {
  kubeToken: tag('kubetoken'),
  kubeKeyData: Buffer.from(`-----BEGIN EC PRIVATE KEY-----\n${tag('keydata')}\n-----END EC PRIVATE KEY-----`).toString(
    'base64',
  ),
  kubeCertData: Buffer.from(tag('certdata')).toString('base64'),
  kubePassword: tag('kubepass'),
  kubeClientSecret: tag('clientsecret'),
  flowToken: tag('flowtoken'),
  flowKeyData: Buffer.from(tag('flowkey')).toString('base64'),
  flowPassword: tag('flowpass'),
  oidcIdToken: tag('idtoken'),
  oidcRefreshToken: tag('refreshtoken'),
  oidcClientSecret: tag('oidcsecret'),
  /** The exec plugin's env value is also the bearer token it hands back: it is used for real. */
  execEnv: tag('execenv'),
  registryPassword: tag('regpass'),
  /** Percent-encoded inside the URL. */
  postgresPassword: `p@ss/${tag('pgpass')}:%?`,
  sentinelPassword: tag('sentinel'),
  testToken: tag('testtoken'),
  /** http://TOKEN@host: a user name used as a token. */
  urlUserToken: tag('urltoken'),
  prometheusPassword: `pr om#${tag('prompass')}`,
  queryToken: tag('querytoken'),
  verifyPassword: tag('verifypass'),
  githubToken: `ghs_${randomBytes(18).toString('hex')}`,
  webhookQueryToken: tag('hooktoken'),
  /** In a file outside the workspace that file inputs name (a ../ path, an absolute path, a symlink). */
  outsideFile: tag('outsidefile'),
} as const;

export type PlantedName = keyof typeof PLANTED;

/** A planted value in the forms it could take when printed. */
export function encodings(value: string): string[] {
  const forms = new Set([
    value,
    encodeURIComponent(value),
    JSON.stringify(value).slice(1, -1),
    Buffer.from(value).toString('base64'),
    Buffer.from(value).toString('base64url'),
  ]);
  // A multi-line value (the PEM inside client-key-data) is also looked for line by line.
  for (const line of value.split('\n')) if (line.length >= 12 && !line.startsWith('-----')) forms.add(line);
  try {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    if (/^[\x20-\x7e\n]+$/.test(decoded))
      for (const line of decoded.split('\n')) if (line.includes('LEAK')) forms.add(line);
  } catch {
    // not base64
  }
  return [...forms].filter((form) => form.length >= 8);
}

export interface Hit {
  channel: string;
  secret: string;
  form: string;
  excerpt: string;
}

/** Every occurrence of any planted value (any form) in any channel; `::add-mask::` lines excepted. */
export function findLeaks(channels: Record<string, string>, planted: Record<string, string> = PLANTED): Hit[] {
  const hits: Hit[] = [];
  for (const [channel, raw] of Object.entries(channels)) {
    const text = raw
      .split('\n')
      .filter((line) => !line.startsWith('::add-mask::'))
      .join('\n');
    for (const [secret, value] of Object.entries(planted)) {
      for (const form of encodings(value)) {
        const at = text.indexOf(form);
        if (at >= 0) hits.push({ channel, secret, form, excerpt: text.slice(Math.max(0, at - 60), at + 80) });
      }
    }
  }
  return hits;
}

/** The channels of one bundle run: stdout, stderr, summary, outputs, and the report file. */
export function runChannels(name: string, run: ActionRun): Record<string, string> {
  const channels: Record<string, string> = {
    [`${name} stdout`]: run.stdout,
    [`${name} stderr`]: run.stderr,
    [`${name} summary`]: run.summary,
    [`${name} outputs`]: JSON.stringify(run.outputs),
  };
  if (run.outputs.report) channels[`${name} report file`] = readFileSync(run.outputs.report, 'utf8');
  return channels;
}

/** Block-style and flow-style users holding every credential field; `deployer` runs an exec plugin. */
export function leakKubeconfig(o: { server: string; caData: string; execScript: string; dumpFile: string }): string {
  return `apiVersion: v1
kind: Config
clusters:
- name: sandbox
  cluster:
    server: ${o.server}
    certificate-authority-data: ${o.caData}
contexts:
- name: sandbox
  context: {cluster: sandbox, user: deployer, namespace: veloz}
- name: other
  context: {cluster: sandbox, user: block-user}
current-context: sandbox
users:
- name: deployer
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: ${JSON.stringify(process.execPath)}
      args: [${JSON.stringify(o.execScript)}, ${JSON.stringify(o.dumpFile)}]
      env:
      - name: VELOZ_EXEC_TOKEN
        value: "${PLANTED.execEnv}"
      interactiveMode: Never
- name: block-user
  user:
    token: ${PLANTED.kubeToken}
    client-key-data: ${PLANTED.kubeKeyData}
    client-certificate-data: "${PLANTED.kubeCertData}"
    username: admin
    password: '${PLANTED.kubePassword}'
    client-secret: ${PLANTED.kubeClientSecret}
- name: flow-user
  user: {token: ${PLANTED.flowToken}, client-key-data: "${PLANTED.flowKeyData}", password: '${PLANTED.flowPassword}'}
- name: oidc-user
  user:
    auth-provider:
      name: oidc
      config: {client-id: veloz, client-secret: ${PLANTED.oidcClientSecret}, id-token: ${PLANTED.oidcIdToken}, refresh-token: ${PLANTED.oidcRefreshToken}}
`;
}

/**
 * An exec credential plugin (node, never sh: dash drops names like INPUT_POSTGRES-URL) that records
 * the environment it was started with and hands back its env value as the bearer token.
 */
export const EXEC_PLUGIN = `
import { appendFileSync } from 'node:fs';
appendFileSync(process.argv[2], JSON.stringify({ who: 'exec-plugin', env: process.env }) + '\\n');
process.stdout.write(JSON.stringify({
  apiVersion: 'client.authentication.k8s.io/v1beta1',
  kind: 'ExecCredential',
  status: { token: process.env.VELOZ_EXEC_TOKEN, expirationTimestamp: new Date(Date.now() + 3600e3).toISOString() },
}));
`;

/** A command that prints its argv and environment (and records them, unredacted, for the assertions). */
export const PRINT_ENV = `
import { appendFileSync } from 'node:fs';
const seen = { who: process.argv[3] ?? 'command', argv: process.argv.slice(2), env: process.env };
appendFileSync(process.argv[2], JSON.stringify(seen) + '\\n');
console.log(JSON.stringify(seen));
`;

export interface EnvDump {
  who: string;
  argv?: string[];
  env: Record<string, string>;
}

export function readDumps(path: string): EnvDump[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as EnvDump);
}

export interface Recorder {
  url: string;
  /** Requests seen: path, the Authorization header, body. */
  requests: { path: string; authorization?: string; body: string }[];
  stop(): Promise<void>;
}

/** A loopback HTTP server answering with `reply`, recording what reaches it. */
export async function startRecorder(
  reply: (req: IncomingMessage, url: string) => { status: number; headers?: Record<string, string>; body?: string },
): Promise<Recorder> {
  const requests: Recorder['requests'] = [];
  let base = '';
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({
        path: req.url ?? '',
        authorization: req.headers.authorization,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const r = reply(req, base);
      res.writeHead(r.status, r.headers).end(r.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
