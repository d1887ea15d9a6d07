/**
 * One rejection across clusters (issue 29 item 3): two sandboxes, each its own cluster and kubeconfig,
 * one GitHub API double (OpenAPI-checked) standing for the repository both clusters' jobs share. A
 * version rolled back in cluster A is refused by preflight in cluster B, whose own ConfigMap knows
 * nothing of it; override-reason still overrides; without the GitHub record, B would let it through.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { startCluster, type Cluster } from '../support/cluster';
import { startGithubDouble, type GithubDouble } from '../support/github-double';

const TOKEN = `ghs_${'Rej3ctT0ken'.repeat(3)}`;
// A Tuesday inside the runbook's 10:00-14:00 UTC window.
const IN_WINDOW = { 'evaluate-at': '2026-11-24T11:00:00Z' };

let a: Cluster;
let b: Cluster;
let github: GithubDouble;

beforeAll(async () => {
  [a, b, github] = await Promise.all([startCluster(), startCluster(), startGithubDouble({ token: TOKEN })]);
  await Promise.all([a.install('1.1.0'), b.install('1.1.0')]);
  await a.install('1.2.0');
}, 120_000);
afterAll(async () => Promise.all([a?.stop(), b?.stop(), github?.stop()]));
afterEach(() => expect(github.violations).toEqual([]));

const env = (cluster: Cluster) => ({ ...cluster.env, GITHUB_API_URL: github.url });

function preflight(cluster: Cluster, inputs: Record<string, string>) {
  return runActionBundle(
    'preflight',
    { ...IN_WINDOW, checks: 'rejected', environment: 'production-us', ...inputs },
    { env: env(cluster), timeoutMs: 120_000 },
  );
}

const configMap = (cluster: Cluster) => cluster.sandbox.get('configmaps', 'veloz', 'veloz-rejected-versions');

describe('a version rolled back in one cluster is refused in every cluster of the release', () => {
  test('before the rollback, cluster B lets 1.2.0 through', async () => {
    const run = await preflight(b, { version: '1.2.0', 'github-token': TOKEN });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
  });

  test('the rollback in cluster A writes the ConfigMap there and one record on GitHub', async () => {
    const run = await runActionBundle(
      'rollback',
      { reason: 'error rate above 5% in eu', timeout: '60s', 'github-token': TOKEN, environment: 'production-eu' },
      { env: env(a), timeoutMs: 120_000 },
    );
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.outputs['rejected-versions']).toBe('1.2.0');
    expect(configMap(a)).toBeDefined();
    expect(configMap(b)).toBeUndefined();
    const records = github.deployments().filter((d) => d.task === 'veloz:reject');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      environment: 'production-eu',
      payload: { kind: 'rejected-version', release: 'veloz', rejected: '1.2.0', reason: 'error rate above 5% in eu' },
    });
    expect(records[0]!.statuses.map((s) => s.state)).toEqual(['inactive']);
    // never mistaken for a deployment of 1.2.0 by the deploy records
    expect((records[0]!.payload as Record<string, unknown>).version).toBeUndefined();
  });

  test('preflight in cluster B refuses 1.2.0, naming the cluster, the reason and the record', async () => {
    const run = await preflight(b, { version: 'v1.2.0', 'github-token': TOKEN });
    expect(run.exitCode).toBe(1);
    expect(run.outputs['failed-checks']).toBe('rejected');
    expect(run.outputs['rejected-versions']).toBe('1.2.0');
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain('rolled back in production-eu at');
    expect(run.errors[0]).toContain('(error rate above 5% in eu)');
    expect(run.errors[0]).toContain('deployments?task=veloz:reject');
    expect(configMap(b)).toBeUndefined(); // B's own copy still knows nothing
  });

  test('override-reason still overrides, with the warning', async () => {
    const run = await preflight(b, { version: '1.2.0', 'github-token': TOKEN, 'override-reason': 'eu-only alert' });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.warnings).toContain('Rejected version deployed: eu-only alert');
  });

  test('other versions pass; without a token only the in-cluster copy is read', async () => {
    const other = await preflight(b, { version: '1.3.0', 'github-token': TOKEN });
    expect(other.exitCode).toBe(0);
    const noToken = await preflight(b, { version: '1.2.0' });
    expect(noToken.exitCode).toBe(0);
  });

  test('GitHub unreachable: the in-cluster copy decides, and the check warns that others are unknown', async () => {
    github.fail('repos/list-deployments', 503, 'Service Unavailable');
    try {
      const run = await preflight(b, { version: '1.2.0', 'github-token': TOKEN });
      expect(run.exitCode).toBe(0);
      expect(run.summary).toContain('other clusters unknown');
      const inA = await preflight(a, { version: '1.2.0', 'github-token': TOKEN });
      expect(inA.exitCode).toBe(1);
    } finally {
      github.resume();
    }
  });

  test('a re-run of the same rollback adds no second record', async () => {
    const before = github.deployments().filter((d) => d.task === 'veloz:reject').length;
    await a.install('1.2.0');
    const run = await runActionBundle(
      'rollback',
      { reason: 'error rate above 5% in eu', timeout: '60s', 'github-token': TOKEN, environment: 'production-eu' },
      { env: env(a), timeoutMs: 120_000 },
    );
    expect(run.exitCode).toBe(0);
    expect(github.deployments().filter((d) => d.task === 'veloz:reject')).toHaveLength(before);
  });
});
