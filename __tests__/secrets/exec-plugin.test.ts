/**
 * Issue 27: a kubeconfig's exec credential plugin, from source. A failing one is fatal at once and
 * named, its stderr (which may hold a token) never published; the credentials a working one returns
 * are secrets from the moment they exist.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectKube } from '@veloz/shared/kube/client';
import { secretRegistry } from '@veloz/shared/secrets';
import { startRecorder, type Recorder } from './leak-support';

let dir: string;
let api: Recorder;
const STDERR_TOKEN = 'LEAKstderrtoken8f3a01';
const RETURNED_TOKEN = 'LEAKreturnedtoken5c2b77';
const RETURNED_KEY = Buffer.from(
  '-----BEGIN EC PRIVATE KEY-----\nLEAKreturnedkey9d1e\n-----END EC PRIVATE KEY-----',
).toString('base64');

const kubeconfig = (script: string): string => `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: ${api.url}, insecure-skip-tls-verify: true}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: ${JSON.stringify(process.execPath)}
      args: [${JSON.stringify(script)}]
      interactiveMode: Never
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'veloz-exec-'));
  api = await startRecorder(() => ({
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'veloz' } }),
  }));
});
afterAll(async () => {
  await api?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('exec credential plugins', () => {
  test('a failing plugin is one named, fatal error, without its stderr and without retries', async () => {
    const script = join(dir, 'failing.mjs');
    await writeFile(script, `process.stderr.write('token expired: ${STDERR_TOKEN}\\n'); process.exit(3);\n`);
    const logged: string[] = [];
    const kube = await connectKube(kubeconfig(script), (line) => logged.push(line));
    const started = Date.now();
    const error = (await kube.core.readNamespace({ name: 'veloz' }).then(
      () => undefined,
      (e: unknown) => e,
    )) as Error | undefined;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error?.message).toBe(
      `the kubeconfig's exec credential plugin ${process.execPath} failed (exit 3); its output is not shown because it may hold credentials. Run it by hand on the runner to see why, or fix the kubeconfig's users[].user.exec.`,
    );
    expect(logged.join('\n')).not.toContain('retrying');
    expect(JSON.stringify([String(error), error?.stack, logged])).not.toContain(STDERR_TOKEN);
    expect(api.requests).toEqual([]);
  }, 20_000);

  test('a plugin that prints no ExecCredential is fatal and not quoted', async () => {
    const script = join(dir, 'garbage.mjs');
    await writeFile(script, `process.stdout.write('not json ${STDERR_TOKEN}');\n`);
    const kube = await connectKube(kubeconfig(script));
    await expect(kube.core.readNamespace({ name: 'veloz' })).rejects.toThrow(
      /exec credential plugin .* printed no ExecCredential JSON \(exit 0\); its output is not shown/,
    );
  }, 20_000);

  test('the token and key a plugin returns are registered secrets before the request goes out', async () => {
    const script = join(dir, 'working.mjs');
    await writeFile(
      script,
      `process.stdout.write(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential',
        status: { token: '${RETURNED_TOKEN}', clientKeyData: '${RETURNED_KEY}', expirationTimestamp: new Date(Date.now() + 3600e3).toISOString() } }));\n`,
    );
    secretRegistry.clear();
    const kube = await connectKube(kubeconfig(script));
    await kube.core.readNamespace({ name: 'veloz' });
    await kube.core.readNamespace({ name: 'veloz' });
    expect(api.requests.map((r) => r.authorization)).toEqual([`Bearer ${RETURNED_TOKEN}`, `Bearer ${RETURNED_TOKEN}`]);
    expect(secretRegistry.list()).toEqual(expect.arrayContaining([RETURNED_TOKEN, RETURNED_KEY]));
    expect(secretRegistry.redact(`got ${RETURNED_TOKEN} and LEAKreturnedkey9d1e`)).toBe('got *** and ***');
    secretRegistry.clear();
  }, 20_000);
});
