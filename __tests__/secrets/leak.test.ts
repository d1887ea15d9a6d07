/**
 * The secret-leak suite: every action through its bundle, with a planted value in every secret input,
 * in URL user info (plain and percent-encoded), in query tokens and in every kubeconfig credential
 * field (block and flow YAML). Every channel is then searched for every planted value in every
 * encoding; the only place a secret may appear is an `::add-mask::` line for the runner.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { REPO_ROOT, type ActionRun, runActionBundle, workspaceTempDir } from '@veloz/harness';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { CHART, VALUES_PRODUCTION, startCluster, type Cluster } from '../support/cluster';
import { startGithubDouble, type GithubDouble } from '../support/github-double';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';
import {
  EXEC_PLUGIN,
  PLANTED,
  PRINT_ENV,
  findLeaks,
  leakKubeconfig,
  readDumps,
  runChannels,
  startRecorder,
  type EnvDump,
  type Recorder,
} from './leak-support';

let cluster: Cluster;
let github: GithubDouble;
let chat: WebhookReceiver;
let engine: Recorder;
let registry: Recorder;
let redirecting: Recorder;
let dir: string;
let kubeconfig: string;
let dumpFile: string;
let printEnv: string;
let deploymentLog: string;
const channels: Record<string, string> = {};
const runs: Record<string, ActionRun> = {};

/** Values in the runner's environment that no child may see. */
const RUNNER_SECRETS = {
  GITHUB_TOKEN: 'LEAKrunnergithubtoken0001',
  ACTIONS_RUNTIME_TOKEN: 'LEAKactionsruntimetoken01',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'LEAKidtokenrequest000001',
  RUNNER_TRACKING_ID: 'LEAKrunnertracking000001',
};
const COMMAND_ENV_VALUE = 'extra-for-commands';
/** Names a child may hold: the allow-list, the `command-env` name, and what credential plugins get. */
const ALLOWED = new Set(['PATH', 'HOME', 'KUBECONFIG', 'TZ', 'LANG', 'VELOZ_EXTRA']);
// Under `npm test -- --coverage` Node itself hands NODE_V8_COVERAGE (a directory, no secret) to every
// child of a bundle it covers; it is not ours to allow or refuse.
if (process.env.VELOZ_BUNDLE_COVERAGE) ALLOWED.add('NODE_V8_COVERAGE');
const PLUGIN_ONLY = new Set(['VELOZ_EXEC_TOKEN', 'KUBERNETES_EXEC_INFO']);

const pgUrl = `postgres://veloz:${encodeURIComponent(PLANTED.postgresPassword)}@127.0.0.1:1/veloz`;
const command = (who: string): string => `${process.execPath} ${printEnv} ${dumpFile} ${who}`;

async function bundle(
  action: 'preflight' | 'canary' | 'validate' | 'rollback',
  inputs: Record<string, string>,
  name: string = action,
) {
  const run = await runActionBundle(
    action,
    { kubeconfig, 'command-env': 'VELOZ_EXTRA', ...inputs },
    {
      env: {
        PATH: cluster.env.PATH!,
        RUNNER_TEMP: dir,
        GITHUB_API_URL: github.url,
        VELOZ_EXTRA: COMMAND_ENV_VALUE,
        ...RUNNER_SECRETS,
      },
      timeoutMs: 240_000,
    },
  );
  runs[name] = run;
  Object.assign(channels, runChannels(name, run));
  return run;
}

/** Every input that names a file or directory, by action (the chart is a directory). */
const FILE_INPUTS = {
  canary: ['chart', 'values-files', 'deployment-log'],
  rollback: ['deployment-log', 'incident-template'],
  preflight: ['release-notes-path'],
} as const;
const OTHER_INPUTS = {
  canary: { phase: 'canary', version: '1.3.0' },
  rollback: { reason: 'error rate above 5%', 'incident-ticket': 'github', 'github-token': PLANTED.githubToken },
  preflight: { checks: 'release-notes', version: '1.2.0' },
};

/** A path to `outside` (a file in it, or the directory) as a ../ path from the workspace, absolute, or a symlink in it. */
async function outsideValue(form: string, outside: string, kind: 'file' | 'dir'): Promise<string> {
  const target = kind === 'dir' ? outside : join(outside, 'notes.md');
  if (form === 'a ../ path') return relative(REPO_ROOT, target);
  if (form === 'an absolute path') return target;
  const links = await mkdtemp(join(dir, 'links-')); // dir is in the workspace
  await symlink(target, join(links, kind));
  return join(links, kind);
}

beforeAll(async () => {
  dir = await workspaceTempDir('veloz-leak-');
  dumpFile = join(dir, 'child-env.jsonl');
  printEnv = join(dir, 'print-env.mjs');
  deploymentLog = join(dir, 'deployments.log');
  const execScript = join(dir, 'exec-plugin.mjs');
  await writeFile(printEnv, PRINT_ENV);
  await writeFile(execScript, EXEC_PLUGIN);
  [cluster, github, chat] = await Promise.all([
    startCluster(),
    startGithubDouble({ token: PLANTED.githubToken }),
    startWebhookReceiver(),
  ]);
  cluster.sandbox.addToken(PLANTED.execEnv, 'deployer');
  await cluster.install('1.1.0');
  await cluster.install('1.2.0');
  const sandboxConfig = parse(cluster.sandbox.kubeconfig) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
  };
  const { server, 'certificate-authority-data': caData } = sandboxConfig.clusters[0]!.cluster;
  kubeconfig = leakKubeconfig({ server, caData, execScript, dumpFile });
  engine = await startRecorder(() => ({
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status: 'ok', consistent: true, count: 1 }),
  }));
  // A registry whose token realm is another host: our Basic credentials must never go there.
  registry = await startRecorder((req, base) =>
    req.url?.startsWith('/token')
      ? { status: 200, body: JSON.stringify({ token: 'stolen' }) }
      : {
          status: 401,
          headers: {
            'www-authenticate': `Bearer realm="${base.replace('127.0.0.1', 'localhost')}/token",service="evil"`,
          },
        },
  );
  // A webhook that redirects: the message must not follow it.
  redirecting = await startRecorder(() => ({ status: 307, headers: { location: chat.url } }));
}, 180_000);

afterAll(async () => {
  await Promise.all([
    cluster?.stop(),
    github?.stop(),
    chat?.stop(),
    engine?.stop(),
    registry?.stop(),
    redirecting?.stop(),
  ]);
  if (process.env.LEAK_DEBUG) await writeFile('/tmp/leak-dumps.jsonl', await readFile(dumpFile, 'utf8'));
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('every action through its bundle, with secrets planted everywhere', () => {
  test('preflight: exec-plugin kubeconfig, registry, database, sentinel, backup and snapshot commands', async () => {
    const run = await bundle('preflight', {
      checks: 'cluster, rbac, image, postgres, backup, redis',
      image: `${registry.url.replace('http://', '')}/veloz/engine`,
      version: '1.2.0',
      'registry-username': 'deployer',
      'registry-password': PLANTED.registryPassword,
      'postgres-url': pgUrl,
      'backup-verify-command': command('backup'),
      'sentinel-addresses': '127.0.0.1:1',
      'sentinel-password': PLANTED.sentinelPassword,
      // generous: the exec plugin is a node process per concurrent first request, on 2 shared cores
      'check-timeout': '60s',
    });
    expect(run.errors.join('\n')).not.toMatch(/stopped unexpectedly|^Input/);
    // the cluster was reached through the exec plugin (its token is the planted exec env value)
    if (process.env.LEAK_DEBUG) await writeFile('/tmp/leak-preflight.txt', `${run.stdout}\n----\n${run.summary}`);
    expect(run.summary).toMatch(/cluster[^\n]*✅/i);
    // the realm on another host got nothing, least of all the Basic credentials
    expect(registry.requests.filter((r) => r.path.startsWith('/token'))).toEqual([]);
    expect(registry.requests.every((r) => r.authorization === undefined)).toBe(true);
    expect(run.summary).toContain('neither https nor on the registry');
    expect(run.masks).toEqual(expect.arrayContaining([PLANTED.kubeToken, PLANTED.flowToken, PLANTED.execEnv]));
    // nothing that is not a secret is masked (a client-id, a user name, the namespace)
    const innocent = ['veloz', 'veloz-engine', 'production', 'deployer', 'admin', 'sandbox', 'prom', 'verify'];
    expect(run.masks.filter((m) => innocent.includes(m))).toEqual([]);
  }, 300_000);

  test('preflight: a passing checklist takes its snapshot with a command that prints its environment', async () => {
    const run = await bundle(
      'preflight',
      {
        checks: 'cluster, backup, snapshot',
        'backup-verify-command': command('backup'),
        'snapshot-commands': command('snapshot'),
      },
      'preflight snapshot',
    );
    expect(run.errors).toEqual([]);
    expect(readDumps(dumpFile).some((d) => d.who === 'snapshot')).toBe(true);
  }, 300_000);

  test('validate: URL user info, a token user name, query tokens, test token, database and Prometheus', async () => {
    const target = engine.url.replace('http://', `http://${PLANTED.urlUserToken}@`);
    const run = await bundle('validate', {
      url: target,
      checks: 'health, order, slo, consistency',
      'test-token': PLANTED.testToken,
      'prometheus-url': `http://prom:${encodeURIComponent(PLANTED.prometheusPassword)}@127.0.0.1:1`,
      'postgres-url': pgUrl,
      'consistency-query': 'SELECT true AS ok',
      'consistency-url': `${engine.url}/api/consistency?token=${PLANTED.queryToken}`,
      'check-timeout': '5s',
    });
    expect(run.errors.join('\n')).not.toContain('stopped unexpectedly');
    // the target is shown, without its user info
    expect(run.summary).toContain(engine.url.replace('http://', ''));
  }, 300_000);

  test('rollback: point-in-time restore commands, records, webhook with a query token', async () => {
    const run = await bundle('rollback', {
      reason: 'error rate above 5%\nFORGED 2026-01-01T00:00:00Z - Deployed v9.9.9',
      incident: 'INC-1 <!channel> *bold*',
      timeout: '60s',
      'database-restore': 'pitr',
      'recovery-time': new Date(Date.now() - 60_000).toISOString(),
      'restore-commands': command('restore'),
      'postgres-url': pgUrl,
      'verify-url': engine.url.replace('http://', `http://verify:${PLANTED.verifyPassword}@`),
      'github-token': PLANTED.githubToken,
      'deployment-log': deploymentLog,
      'notify-webhook': `${chat.url}?token=${PLANTED.webhookQueryToken}`,
      'allow-insecure-webhook': 'true',
    });
    expect(run.errors).toEqual([]);
    expect(readDumps(dumpFile).some((d) => d.who === 'restore')).toBe(true);
    // free text: one log record per rollback, chat text escaped for mrkdwn
    const log = await readFile(deploymentLog, 'utf8');
    expect(log.split('\n').filter((l) => l.includes('FORGED'))).toEqual([]);
    expect(chat.texts().join('\n')).toContain('INC-1 &lt;!channel&gt;');
    expect(chat.texts().join('\n')).not.toContain('<!channel>');
  }, 300_000);

  test('canary: helm through the exec plugin; a redirecting webhook is not followed', async () => {
    const before = chat.requests.length;
    const run = await bundle('canary', {
      phase: 'canary',
      version: '1.3.0',
      chart: CHART,
      'values-files': VALUES_PRODUCTION,
      'github-token': PLANTED.githubToken,
      'deployment-log': deploymentLog,
      'notify-webhook': `${redirecting.url}/hook?token=${PLANTED.webhookQueryToken}`,
      'allow-insecure-webhook': 'true',
    });
    expect(run.errors).toEqual([]);
    expect(redirecting.requests.length).toBeGreaterThan(0);
    expect(chat.requests.length).toBe(before);
    expect(run.warnings.join('\n')).toContain('redirect, not followed');
  }, 300_000);

  test('a malformed kubeconfig (block and flow YAML) is an input error quoting none of it', async () => {
    for (const broken of [
      `apiVersion: v1\nclusters:\n- cluster: {server: https://x}\nusers:\n- name: u\n  user:\n    token: ${PLANTED.kubeToken}\n   client-key-data: ${PLANTED.kubeKeyData}\n`,
      `{apiVersion: v1, clusters: [], users: [{name: u, user: {token: ${PLANTED.flowToken}, password: ${PLANTED.flowPassword}`,
    ]) {
      const run = await runActionBundle('preflight', { kubeconfig: broken }, { env: { PATH: process.env.PATH! } });
      expect(run.exitCode).toBe(1);
      expect(run.errors).toHaveLength(1);
      expect(run.errors[0]).toMatch(/^Input 'kubeconfig' has value \*\*\*: expected the content of a kubeconfig file/);
      Object.assign(channels, runChannels(`malformed kubeconfig ${broken.length}`, run));
    }
  }, 120_000);

  test.each(
    (['a ../ path', 'an absolute path', 'a symlink in the workspace'] as const).flatMap((form) =>
      (['canary', 'rollback', 'preflight'] as const).map((action) => [action, form] as const),
    ),
  )(
    '%s with every file input outside the workspace by %s: one ::error:: each, the file neither read nor written, the cluster untouched',
    async (action, form) => {
      const outside = await mkdtemp(join(tmpdir(), 'veloz-outside-'));
      const content = `## 1.2.0\n${PLANTED.outsideFile}\n`;
      await writeFile(join(outside, 'notes.md'), content);
      const inputs: Record<string, string> = {};
      for (const name of FILE_INPUTS[action])
        inputs[name] = await outsideValue(form, outside, name === 'chart' ? 'dir' : 'file');
      const writes = () =>
        cluster.sandbox.journal.list().filter((e) => ['create', 'update', 'patch', 'delete'].includes(e.verb)).length;
      const writesBefore = writes();
      const run = await runActionBundle(
        action,
        { kubeconfig, ...OTHER_INPUTS[action], ...inputs },
        { env: { PATH: cluster.env.PATH!, GITHUB_API_URL: github.url }, timeoutMs: 60_000 },
      );
      expect(run.exitCode).toBe(1);
      expect(run.errors).toEqual(
        FILE_INPUTS[action].map(
          (name) =>
            `Input '${name}' has value ${JSON.stringify(inputs[name])}: expected a path inside the workspace (${REPO_ROOT}), symlinks resolved.`,
        ),
      );
      expect(await readFile(join(outside, 'notes.md'), 'utf8')).toBe(content);
      expect(writes()).toBe(writesBefore);
      Object.assign(channels, runChannels(`${action}, ${form} outside`, run));
      await rm(outside, { recursive: true, force: true });
    },
    60_000,
  );

  test('no planted value, in any encoding, reaches any channel', async () => {
    Object.assign(channels, {
      'deployments.log': await readFile(deploymentLog, 'utf8').catch(() => ''),
      'webhook bodies': chat.requests.map((r) => r.body).join('\n'),
      'redirecting webhook bodies': redirecting.requests.map((r) => r.body).join('\n'),
      'GitHub API payloads': JSON.stringify(github.requests),
      'GitHub deployments': JSON.stringify(github.deployments()),
    });
    expect(Object.keys(runs).sort()).toEqual(['canary', 'preflight', 'preflight snapshot', 'rollback', 'validate']);
    expect(github.requests.length).toBeGreaterThan(0);
    expect(chat.requests.length).toBeGreaterThan(0);
    expect(findLeaks(channels)).toEqual([]);
  });

  test('children got the allow-listed environment only', () => {
    const dumps = readDumps(dumpFile);
    const who = (d: EnvDump): string => (d.who === 'exec-plugin' ? 'exec-plugin' : 'command');
    // exec plugins from the actions and from helm; commands from preflight (backup, snapshot) and rollback
    expect(new Set(dumps.map((d) => d.who))).toEqual(new Set(['exec-plugin', 'backup', 'snapshot', 'restore']));
    for (const d of dumps) {
      const names = Object.keys(d.env).filter(
        (n) => !ALLOWED.has(n) && !(who(d) === 'exec-plugin' && PLUGIN_ONLY.has(n)),
      );
      expect([d.who, names]).toEqual([d.who, []]);
      expect([d.who, d.env.HOME === process.env.HOME, d.env.HOME?.startsWith(dir)]).toEqual([d.who, false, true]);
      const values = JSON.stringify(Object.entries(d.env).filter(([n]) => n !== 'VELOZ_EXEC_TOKEN'));
      for (const secret of [...Object.values(PLANTED), ...Object.values(RUNNER_SECRETS)]) {
        expect([d.who, values.includes(secret)]).toEqual([d.who, false]);
      }
    }
    // helm ran the plugin too (client-go hands it KUBERNETES_EXEC_INFO), under the same allow-list
    expect(dumps.some((d) => d.who === 'exec-plugin' && d.env.KUBERNETES_EXEC_INFO !== undefined)).toBe(true);
    const commands = dumps.filter((d) => who(d) === 'command');
    for (const d of commands) {
      expect([d.who, d.env.VELOZ_EXTRA, typeof d.env.KUBECONFIG]).toEqual([d.who, COMMAND_ENV_VALUE, 'string']);
    }
  });
});
