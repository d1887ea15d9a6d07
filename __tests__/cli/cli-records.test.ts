/** A CLI rollback leaves the workflow's records: GitHub deployment statuses (with a token) and chat. */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { startCluster, type Cluster } from '../support/cluster';
import { startGithubDouble, type GithubDouble } from '../support/github-double';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';
import { runCli } from './run-cli';

const TOKEN = `ghs_${'Cl1T0ken'.repeat(4)}`;
const REASON = 'p99 above 1s for 5 minutes';

let cluster: Cluster;
let github: GithubDouble;
let chat: WebhookReceiver;

beforeAll(async () => {
  [cluster, github, chat] = await Promise.all([
    startCluster(),
    startGithubDouble({ token: TOKEN }),
    startWebhookReceiver(),
  ]);
  await cluster.install('1.0.0');
  await cluster.install('1.1.0');
}, 120_000);
afterAll(async () => Promise.all([cluster?.stop(), github?.stop(), chat?.stop()]));

test('GitHub statuses and the §5.4 texts, the token from VELOZ_GITHUB_TOKEN and never printed', async () => {
  const env = {
    ...cluster.env,
    VELOZ_GITHUB_TOKEN: TOKEN,
    GITHUB_API_URL: github.url,
    GITHUB_REPOSITORY: 'veloz/veloz',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
  };
  const { GITHUB_SHA: _sha, ...noCommit } = env;
  const refused = await runCli(['rollback', '--reason', REASON], noCommit);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain(
    'error: a GitHub token records deployments on a commit or tag: set GITHUB_SHA or GITHUB_REF',
  );

  const run = await runCli(
    ['rollback', '--reason', REASON, '--notify-webhook', chat.url, '--allow-insecure-webhook', '--timeout', '60s'],
    env,
  );
  expect(run.code).toBe(0);
  expect(github.violations).toEqual([]);
  // the restored version had no GitHub deployment (installed by hand): one is made and marked success
  // (besides the rejection record of the version it rolled back from, task veloz:reject)
  const [restored, ...others] = github.deployments().filter((d) => d.task === 'deploy');
  expect(others).toEqual([]);
  expect(github.deployments().filter((d) => d.task === 'veloz:reject')).toHaveLength(1);
  expect(restored).toMatchObject({ environment: 'production' });
  expect(restored!.statuses.at(-1)).toMatchObject({ state: 'success', description: `Restored by rollback: ${REASON}` });
  // no run page from a terminal: the log URL names where it ran (a URI: cli:<user>@<host>/pid/…)
  expect(restored!.statuses.at(-1)!.log_url).toMatch(/^cli:oncall@[^/]+\/pid\/\d+-\d+$/);
  expect(chat.texts().map((t) => t.split('\n')[0])).toEqual(['ROLLBACK INITIATED', 'ROLLBACK INITIATED']);
  expect(chat.texts().at(-1)).toContain('COMPLETE');
  expect(run.stdout + run.stderr).not.toContain(TOKEN);
}, 180_000);
