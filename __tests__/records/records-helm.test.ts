/**
 * Records end to end (issue 6 "Records and notifications", issue 8 item 6): the committed canary and
 * rollback bundles on a sandbox cluster with helm 3, recording to a GitHub API double validated against
 * GitHub's OpenAPI description, a chat webhook receiver, and the runbook's deployments.log.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { type ActionRun, runActionBundle, workspaceTempDir } from '@veloz/harness';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CHART, VALUES_PRODUCTION, startCluster, type Cluster } from '../support/cluster';
import { startGithubDouble, type GithubDouble } from '../support/github-double';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const TOKEN = `ghs_${'R3cordsT0ken'.repeat(3)}`;
const SHA = '0123456789abcdef0123456789abcdef01234567'; // the harness's GITHUB_SHA
const RUN_URL = 'https://github.com/veloz/veloz/actions/runs/4242'; // from the harness's GITHUB_* context
const REASON = 'error rate above 5% for 5 minutes';

let cluster: Cluster;
let github: GithubDouble;
let chat: WebhookReceiver;
let outage: WebhookReceiver;
let dir: string;
let logPath: string;
const runs: ActionRun[] = [];

beforeAll(async () => {
  [cluster, github, chat, outage, dir] = await Promise.all([
    startCluster(),
    startGithubDouble({ token: TOKEN }),
    startWebhookReceiver(),
    startWebhookReceiver(),
    workspaceTempDir('veloz-records-'),
  ]);
  logPath = join(dir, 'var', 'log', 'veloz', 'deployments.log');
  await cluster.install('1.0.0');
}, 120_000);

afterAll(async () => {
  await Promise.all([cluster?.stop(), github?.stop(), chat?.stop(), outage?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  // every call our code made was one GitHub accepts, and every answer was GitHub's shape
  expect(github.violations).toEqual([]);
  expect(chat.invalid).toEqual([]);
});

const records = (webhook: WebhookReceiver = chat) => ({
  'github-token': TOKEN,
  environment: 'production',
  'notify-webhook': webhook.url,
  // the receiver is a loopback http server
  'allow-insecure-webhook': 'true',
  'deployment-log': logPath,
});
const env = () => ({ ...cluster.env, GITHUB_API_URL: github.url });

async function canary(phase: 'canary' | 'promote', version: string, webhook?: WebhookReceiver) {
  const run = await runActionBundle(
    'canary',
    { chart: CHART, 'values-files': VALUES_PRODUCTION, strategy: 'in-place', phase, version, ...records(webhook) },
    { env: env(), timeoutMs: 120_000 },
  );
  runs.push(run);
  return run;
}

async function rollback() {
  const run = await runActionBundle(
    'rollback',
    { reason: REASON, timeout: '60s', ...records() },
    { env: env(), timeoutMs: 120_000 },
  );
  runs.push(run);
  return run;
}

function deploymentOf(version: string) {
  const found = github.deployments().filter((d) => (d.payload as { version?: string }).version === version);
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** Lines of a runbook §5.4 template with the values this run must fill in. */
function template(lines: (string | RegExp)[]): RegExp {
  const source = lines.map((l) => (typeof l === 'string' ? escape(l) : l.source)).join('\n');
  return new RegExp(`^${source}$`);
}
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const TIME = /Time: \d{4}-\d\d-\d\d \d\d:\d\d UTC/;
const LOG_TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/;

/** The minute-precision time of a notification lies within [start of its minute, end]. */
function expectTimeWithin(text: string, from: Date, to: Date): void {
  const shown = /Time: (\d{4}-\d\d-\d\d \d\d:\d\d) UTC/.exec(text)?.[1];
  const at = Date.parse(`${shown?.replace(' ', 'T')}:00Z`);
  expect(at).toBeGreaterThanOrEqual(Math.floor(from.getTime() / 60_000) * 60_000);
  expect(at).toBeLessThanOrEqual(to.getTime());
}

function chatWarnings(run: ActionRun): string[] {
  return run.warnings.filter((w) => /notification|GitHub deployment/i.test(w));
}

describe('deployment records with helm 3', () => {
  test('canary then promote: one GitHub deployment, in_progress … success, §5.4 texts, the runbook log line', async () => {
    chat.failNext(2); // the first notification needs the retries
    const from = new Date();
    const canaryRun = await canary('canary', '1.1.0');
    expect(canaryRun.errors).toEqual([]);
    expect(canaryRun.exitCode).toBe(0);
    expect(chatWarnings(canaryRun)).toEqual([]);
    const promoteRun = await canary('promote', '1.1.0');
    const to = new Date();
    expect(promoteRun.errors).toEqual([]);
    expect(promoteRun.exitCode).toBe(0);
    expect(chatWarnings(promoteRun)).toEqual([]);

    const [deployment, ...others] = github.deployments();
    expect(others).toEqual([]);
    expect(deployment).toMatchObject({
      ref: SHA,
      sha: SHA,
      environment: 'production',
      production_environment: true,
      payload: {
        version: '1.1.0',
        release: 'veloz',
        namespace: 'veloz',
        previousRevision: expect.stringMatching(/^\d+$/),
      },
    });
    expect(canaryRun.outputs['deployment-id']).toBe(String(deployment!.id));
    expect(promoteRun.outputs['deployment-id']).toBe(String(deployment!.id));
    const states = deployment!.statuses.map((s) => s.state);
    expect(states[0]).toBe('in_progress');
    expect(states.at(-1)).toBe('success');
    expect(new Set(states.slice(0, -1))).toEqual(new Set(['in_progress']));
    for (const status of deployment!.statuses) {
      expect(status).toMatchObject({ log_url: RUN_URL, target_url: RUN_URL, environment: 'production' });
    }

    expect(chat.requests.map((r) => r.status)).toEqual([500, 500, 200, 200]);
    const [started, complete, ...more] = chat.texts();
    expect(more).toEqual([]);
    expect(started).toMatch(
      template([
        'DEPLOYMENT STARTED',
        'Service: VeloZ Production',
        'Version: v1.1.0',
        TIME,
        'Duration: ~30 minutes',
        'Impact: Minimal (rolling deployment)',
        'Contact: @deployer',
      ]),
    );
    expect(complete).toMatch(
      template([
        'DEPLOYMENT COMPLETE',
        'Service: VeloZ Production',
        'Version: v1.1.0',
        TIME,
        'Status: SUCCESS',
        /Validation: .+/,
        /Release Notes: .+/,
      ]),
    );
    expectTimeWithin(started!, from, to);
    expectTimeWithin(complete!, from, to);
    expect(canaryRun.summary).toContain(started);
    expect(promoteRun.summary).toContain(complete);

    // `echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) - Deployed v${RELEASE_VERSION} to production"`
    const log = await readFile(logPath, 'utf8');
    expect(log).toMatch(new RegExp(`^${LOG_TIME.source} - Deployed v1\\.1\\.0 to production\\n$`));
    const at = Date.parse(log.slice(0, 20));
    expect(at).toBeGreaterThanOrEqual(Math.floor(from.getTime() / 1000) * 1000);
    expect(at).toBeLessThanOrEqual(to.getTime());
  });

  test('a chat outage is a warning: the deploy succeeds and is recorded everywhere else', async () => {
    outage.failAlways(500);
    for (const phase of ['canary', 'promote'] as const) {
      const run = await canary(phase, '1.2.0', outage);
      expect(run.errors).toEqual([]);
      expect(run.exitCode).toBe(0);
      expect(chatWarnings(run)).toEqual([
        'Chat notification not delivered after 3 attempts: the webhook answered 500 Internal Server Error.',
      ]);
    }
    expect(outage.requests.map((r) => r.status)).toEqual(Array(6).fill(500)); // two messages, three tries each
    expect(deploymentOf('1.2.0').statuses.at(-1)?.state).toBe('success');
    const lines = (await readFile(logPath, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^${LOG_TIME.source} - Deployed v1\\.2\\.0 to production$`));
  });

  test('rollback: the bad version’s deployment → failure, the restored one → success, log and chat', async () => {
    const sent = chat.texts().length;
    const from = new Date();
    const run = await rollback();
    const to = new Date();
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.outputs['rolled-back-from']).toMatch(/\(v1\.2\.0\)$/);
    expect(run.outputs['rolled-back-to']).toMatch(/\(v1\.1\.0\)$/);
    expect(chatWarnings(run)).toEqual([]);

    const bad = deploymentOf('1.2.0');
    expect(bad.statuses.slice(-2).map((s) => s.state)).toEqual(['success', 'failure']);
    expect(bad.statuses.at(-1)).toMatchObject({ description: `Rolled back: ${REASON}`, log_url: RUN_URL });
    const restored = deploymentOf('1.1.0');
    expect(restored.statuses.at(-1)).toMatchObject({
      state: 'success',
      description: `Restored by rollback: ${REASON}`,
      log_url: RUN_URL,
    });
    // the two deployments, and the rejection every cluster's preflight reads (task veloz:reject)
    expect(github.deployments().map((d) => d.task)).toEqual(['deploy', 'deploy', 'veloz:reject']);

    const lines = (await readFile(logPath, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    // `echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) - ROLLBACK from v${RELEASE_VERSION}"`
    expect(lines[2]).toMatch(new RegExp(`^${LOG_TIME.source} - ROLLBACK from v1\\.2\\.0$`));

    const texts = chat.texts().slice(sent);
    expect(texts).toHaveLength(2);
    const rollbackText = (status: string) =>
      template([
        'ROLLBACK INITIATED',
        'Service: VeloZ Production',
        'From Version: v1.2.0',
        'To Version: v1.1.0',
        `Reason: ${REASON}`,
        TIME,
        `Status: ${status}`,
        /Incident: .+/,
      ]);
    expect(texts[0]).toMatch(rollbackText('IN PROGRESS'));
    expect(texts[1]).toMatch(rollbackText('COMPLETE'));
    expectTimeWithin(texts[0]!, from, to);
    expect(run.summary).toContain('ROLLBACK INITIATED');
  });

  test('a GitHub API that never answers is a warning, not a deploy stuck holding the release lock', async () => {
    github.stall();
    const run = await runActionBundle(
      'canary',
      {
        chart: CHART,
        'values-files': VALUES_PRODUCTION,
        strategy: 'in-place',
        phase: 'promote',
        version: '1.1.0',
        'github-token': TOKEN,
        environment: 'production',
      },
      { env: env(), timeoutMs: 60_000 },
    );
    runs.push(run);
    github.resume();
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.warnings).toContainEqual(
      expect.stringMatching(/^GitHub deployment not recorded: the GitHub API did not answer GET \S+ within 10 s/),
    );
    expect(github.requests.filter((r) => r.status === 0)).toHaveLength(1); // gave up after the first call
  });

  // Last: a crash-looping canary leaves the release failed (rolling back right after it trips a
  // rollout-tracker race, reported separately).
  test('a crash-looping canary records failure and says so in chat; the log gets no line', async () => {
    cluster.sandbox.setProfile('veloz/engine:1.3.0', 'crashloop');
    const sent = chat.texts().length;
    const run = await canary('canary', '1.3.0');
    expect(run.exitCode).toBe(1);
    expect(run.errors.join('\n')).toContain('CrashLoopBackOff');

    const deployment = deploymentOf('1.3.0');
    expect(deployment).toMatchObject({ ref: SHA, environment: 'production' });
    expect(run.outputs['deployment-id']).toBe(String(deployment.id));
    expect(deployment.statuses.map((s) => s.state)).toEqual(['in_progress', 'failure']);
    expect(deployment.statuses[1]?.description).toContain('CrashLoopBackOff');
    expect(deployment.statuses[1]?.log_url).toBe(RUN_URL);

    const [started, complete, ...more] = chat.texts().slice(sent);
    expect(more).toEqual([]);
    expect(started).toMatch(/^DEPLOYMENT STARTED\nService: VeloZ Production\nVersion: v1\.3\.0\n/);
    expect(complete).toMatch(
      template([
        'DEPLOYMENT COMPLETE',
        'Service: VeloZ Production',
        'Version: v1.3.0',
        TIME,
        'Status: FAILED',
        /Validation: .*CrashLoopBackOff.*/,
        /Release Notes: .+/,
      ]),
    );
    expect((await readFile(logPath, 'utf8')).trimEnd().split('\n')).toHaveLength(3);
  });

  test('the token and the webhook URLs never reach the logs, summaries or outputs', () => {
    expect(runs.length).toBeGreaterThanOrEqual(6);
    const secrets = [TOKEN, chat.url, outage.url];
    for (const run of runs) {
      const visible = run.stdout
        .split('\n')
        .filter((line) => !line.startsWith('::add-mask::'))
        .concat(run.stderr, run.summary, Object.values(run.outputs));
      for (const secret of secrets) expect(visible.filter((text) => text.includes(secret))).toEqual([]);
      expect(run.masks).toContain(TOKEN);
    }
    // and GitHub saw the token where it belongs: the Authorization header of every call
    expect(github.requests.length).toBeGreaterThan(0);
    expect(github.requests.every((r) => r.authScheme === 'token' || r.authScheme === 'bearer')).toBe(true);
  });
});
