/**
 * Runbook §4.5 step 5 through the bundle: the rollback opens an incident issue from the post-mortem
 * template in the GitHub REST double (every request and answer checked against GitHub's OpenAPI
 * description), links it in the ROLLBACK notification, and a re-run edits the same issue.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle, workspaceTempDir } from '@veloz/harness';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startCluster, type Cluster } from '../support/cluster';
import { startGithubDouble, type GithubDouble } from '../support/github-double';

const TOKEN = `ghs_${'Inc1dentT0ken'.repeat(3)}`;
const RUN_URL = 'https://github.com/veloz/veloz/actions/runs/4242'; // from the harness's GITHUB_* context
const REASON = 'error rate 7.2% above 5% for 5 minutes; p99 latency 180 ms above 100 ms';

let cluster: Cluster;
let github: GithubDouble;
let dir: string;

beforeAll(async () => {
  [cluster, github, dir] = await Promise.all([
    startCluster(),
    startGithubDouble({ token: TOKEN }),
    workspaceTempDir('veloz-incident-'),
  ]);
  await cluster.install('1.1.0');
  await cluster.install('1.2.0');
}, 120_000);

afterAll(async () => {
  await Promise.all([cluster?.stop(), github?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

afterEach(() => {
  // every call was one GitHub accepts, and every answer had GitHub's shape
  expect(github.violations).toEqual([]);
});

function rollback(inputs: Record<string, string>) {
  return runActionBundle(
    'rollback',
    {
      reason: REASON,
      timeout: '60s',
      'github-token': TOKEN,
      environment: 'production',
      'incident-ticket': 'github',
      ...inputs,
    },
    { env: { ...cluster.env, GITHUB_API_URL: github.url }, timeoutMs: 120_000 },
  );
}

const failingRestore = {
  'database-restore': 'pitr',
  'recovery-time': new Date(Date.now() - 60_000).toISOString(),
  'restore-commands': '/bin/false',
};

describe('incident ticket (runbook §4.5 step 5)', () => {
  test('a failed rollback opens one issue, links it in the notification and marks it FAILED', async () => {
    const run = await rollback(failingRestore);
    expect(run.exitCode).toBe(1);
    expect(github.state.issues).toHaveLength(1);
    const issue = github.state.issues[0]!;
    expect(run.outputs['incident-url']).toBe(`https://github.com/veloz/veloz/issues/${issue.number}`);
    expect(issue.title).toBe('Incident: veloz v1.2.0 rolled back in production');
    expect(issue.labels).toEqual(['incident']);
    expect(run.summary).toContain(`Incident: ${run.outputs['incident-url']}`);
    expect(issue.body).toContain('Status: **FAILED**');
    expect(github.requests.filter((r) => r.operationId === 'issues/create')).toHaveLength(1);
    // bring the engine back, as the failure message says, before the re-run
    await cluster.kubectl(['scale', 'deployment', 'veloz-engine', '-n', 'veloz', '--replicas=2']);
  });

  test('the re-run edits the same issue; its body has every section and link', async () => {
    const run = await rollback({ ...failingRestore, 'restore-commands': '/bin/true' });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(github.state.issues).toHaveLength(1);
    expect(github.requests.filter((r) => r.operationId === 'issues/create')).toHaveLength(1);
    const issue = github.state.issues[0]!;
    // the failed run's FAILED edit, then this run's IN PROGRESS and COMPLETE edits
    expect(issue.updates).toBe(3);
    expect(run.outputs['incident-url']).toBe(`https://github.com/veloz/veloz/issues/${issue.number}`);
    const body = issue.body!;
    for (const section of [
      '## Summary',
      '## Why',
      '### Evidence',
      '## Timeline (UTC)',
      '## Database',
      '## Links',
      '## Post-mortem',
      '### Root cause',
      '### Action items',
    ])
      expect(body).toContain(section);
    expect(body).toContain(
      'veloz in veloz in **production** was rolled back from **revision 2 (v1.2.0)** to **revision 1 (v1.1.0)**.',
    );
    expect(body).toContain('Status: **COMPLETE**');
    expect(body).toContain('- error rate 7.2% above 5% for 5 minutes\n- p99 latency 180 ms above 100 ms');
    expect(body).toMatch(/- Health of pod veloz-engine-\S+ \(pods\/proxy\): pass/);
    // the deploy as the release history tells it, then the rollback's steps with times
    expect(body).toMatch(/- \d{4}-\d\d-\d\dT[\d:.]+Z?[^\n]*: revision 2 \(v1\.2\.0\) superseded — Upgrade complete\n/);
    expect(body).toMatch(/- \d{4}-\d\d-\d\dT[\d:.]+Z: Restore the database to [^\n]+ \(done\)/);
    expect(body).toMatch(/- \d{4}-\d\d-\d\dT[\d:.]+Z: Roll back to revision 1 \(v1\.1\.0\) \(§4\.2\) \(done\)/);
    expect(body).toContain(`- Rollback run: ${RUN_URL}`);
    expect(body).toContain('- Deployment record: https://github.com/veloz/veloz/deployments/production');
    expect(body).toContain(`- Report: job summary and JSON report of ${RUN_URL}`);
    expect(body).toContain('<!-- veloz-incident: production/veloz/veloz/v1.2.0 -->');
    expect(body).not.toContain(TOKEN);
  });

  test('a template with an unknown placeholder is a bad input that changes nothing', async () => {
    const template = join(dir, 'postmortem.md');
    await writeFile(template, '# {from-version} rolled back\n{root-cause}\n');
    const before = cluster.sandbox.journal.list().length;
    const requests = github.requests.length;
    const run = await rollback({ 'incident-template': template });
    expect(run.exitCode).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain("Input 'incident-template'");
    expect(run.errors[0]).toContain('(unknown: {root-cause})');
    expect(cluster.sandbox.journal.list().length).toBe(before);
    expect(github.requests.length).toBe(requests);
  });
});
