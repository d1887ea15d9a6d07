/**
 * A wave release end to end (issue 29 "Tests"): three sandboxes, each its own cluster and kubeconfig,
 * one GitHub API double (OpenAPI-checked) for the repository, and the committed action bundles run per
 * cluster in the order waves.yml runs its jobs: wave 1 (canary cluster) promoted; wave 2 gets a
 * crash-looping version, its canary fails and its own rollback (deploy.yml's rollback job) runs;
 * wave 3 never starts; `waves outcome` reads the records back and names wave 1's cluster, which
 * rollback-all rolls back; the summary tells the story; and preflight refuses the version in every
 * cluster, including the one it never reached. The waves steps run from source (`cli()`); the
 * actions are the bundles.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle, type ActionRun } from '@veloz/harness';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../../cli/src/main';
import { parseWaves } from '../../cli/src/waves/plan';
import { CHART, IMAGE, VALUES_PRODUCTION, startCluster, type Cluster } from '../support/cluster';
import { startGithubDouble, type GithubDouble } from '../support/github-double';

const TOKEN = `ghs_${'Wav3sT0ken'.repeat(3)}`;
const IN_WINDOW = { 'evaluate-at': '2026-11-24T11:00:00Z' };
const VERSION = '1.2.0';
const WAVES = `
on-failure: rollback-all
waves:
  - name: canary
    clusters: [production-eu-1]
  - name: europe
    clusters: [production-eu-2]
  - name: americas
    clusters: [production-us-1]
`;

let github: GithubDouble;
let dir: string;
const clusters = new Map<string, Cluster>();
const log: string[] = [];

beforeAll(async () => {
  const [eu1, eu2, us1, double] = await Promise.all([
    startCluster(),
    startCluster(),
    startCluster(),
    startGithubDouble({ token: TOKEN }),
  ]);
  github = double;
  clusters.set('production-eu-1', eu1).set('production-eu-2', eu2).set('production-us-1', us1);
  await Promise.all([...clusters.values()].map((c) => c.install('1.1.0')));
  // only in wave 2's cluster does the new version crash (a regional dependency it cannot reach)
  clusters.get('production-eu-2')!.sandbox.setProfile(`${IMAGE}:${VERSION}`, 'crashloop');
  dir = await mkdtemp(join(tmpdir(), 'veloz-waves-e2e-'));
}, 180_000);
afterAll(async () => {
  await Promise.all([...clusters.values()].map((c) => c.stop()).concat(github ? [github.stop()] : []));
  if (dir) await rm(dir, { recursive: true, force: true });
});

const envOf = (cluster: string) => ({ ...clusters.get(cluster)!.env, GITHUB_API_URL: github.url });
const records = (cluster: string) => ({ 'github-token': TOKEN, environment: cluster });

function preflight(cluster: string): Promise<ActionRun> {
  return runActionBundle(
    'preflight',
    { ...IN_WINDOW, checks: 'release,rejected', version: VERSION, ...records(cluster) },
    { env: envOf(cluster), timeoutMs: 120_000 },
  );
}

function canary(cluster: string, phase: 'canary' | 'promote'): Promise<ActionRun> {
  return runActionBundle(
    'canary',
    {
      chart: CHART,
      'values-files': VALUES_PRODUCTION,
      strategy: 'in-place',
      phase,
      version: VERSION,
      timeout: '60s',
      ...records(cluster),
    },
    { env: envOf(cluster), timeoutMs: 120_000 },
  );
}

function rollback(cluster: string, reason: string, toRevision?: string): Promise<ActionRun> {
  return runActionBundle(
    'rollback',
    {
      reason,
      timeout: '60s',
      'lock-wait': '0s',
      ...(toRevision ? { 'to-revision': toRevision } : {}),
      ...records(cluster),
    },
    { env: envOf(cluster), timeoutMs: 120_000 },
  );
}

/** deploy.yml's chain for one cluster: preflight, canary, promote; its rollback job when a step after preflight failed. */
async function deployCluster(cluster: string): Promise<'success' | 'failure'> {
  const pre = await preflight(cluster);
  log.push(`${cluster} preflight ${pre.exitCode}`);
  if (pre.exitCode !== 0) return 'failure';
  for (const phase of ['canary', 'promote'] as const) {
    const run = await canary(cluster, phase);
    log.push(`${cluster} ${phase} ${run.exitCode}`);
    if (run.exitCode !== 0) {
      const back = await rollback(
        cluster,
        `Deploy of ${VERSION} to ${cluster}: ${phase} failure`,
        pre.outputs['current-revision'],
      );
      log.push(`${cluster} rollback ${back.exitCode}`);
      return 'failure';
    }
  }
  return 'success';
}

/** A waves step as waves.yml runs it: env in, GITHUB_OUTPUT / GITHUB_STEP_SUMMARY out. */
async function wavesStep(step: string): Promise<{ code: number; stdout: string; output: string; summary: string }> {
  const output = join(dir, `${step}.output`);
  const summary = join(dir, `${step}.summary.md`);
  let stdout = '';
  const code = await cli(['waves', step], {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stdout += t) },
    root: '.',
    env: {
      VELOZ_WAVES: WAVES,
      VELOZ_VERSION: VERSION,
      VELOZ_RELEASE: 'veloz',
      VELOZ_GITHUB_TOKEN: TOKEN,
      GITHUB_API_URL: github.url,
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REPOSITORY: 'veloz/veloz',
      GITHUB_RUN_ID: '4242',
      GITHUB_OUTPUT: output,
      GITHUB_STEP_SUMMARY: summary,
    },
  });
  const read = (path: string) => readFile(path, 'utf8').catch(() => '');
  return { code, stdout, output: await read(output), summary: await read(summary) };
}

const imageIn = (cluster: string): string | undefined =>
  (
    clusters.get(cluster)!.sandbox.get('deployments', 'veloz', 'veloz-engine') as {
      spec: { template: { spec: { containers: { image: string }[] } } };
    }
  ).spec.template.spec.containers[0]?.image;

const outputsOf = (text: string): Record<string, string> =>
  Object.fromEntries(
    text
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

describe('a release in three waves, the second one failing', () => {
  const results: Record<string, string> = {};
  let promoted: string[] = [];

  test('the plan job: one matrix per wave', async () => {
    const plan = await wavesStep('plan');
    expect(plan.code).toBe(0);
    const out = outputsOf(plan.output);
    expect(out.count).toBe('3');
    expect(JSON.parse(out['wave-2']!).clusters).toEqual(['production-eu-2']);
  });

  test('the waves in order: wave 1 promoted, wave 2 fails and rolls itself back, wave 3 never starts', async () => {
    const plan = parseWaves(WAVES).plan!;
    const untouched = clusters.get('production-us-1')!.sandbox.journal.list().length;
    for (const [i, wave] of plan.waves.entries()) {
      const legs = await Promise.all(wave.clusters.map((c) => deployCluster(c)));
      results[`wave-${i + 1}`] = legs.every((r) => r === 'success') ? 'success' : 'failure';
      if (results[`wave-${i + 1}`] !== 'success') break; // waves.yml: the next wave needs this one's success
    }
    expect(results).toEqual({ 'wave-1': 'success', 'wave-2': 'failure' });
    expect(log).toEqual([
      'production-eu-1 preflight 0',
      'production-eu-1 canary 0',
      'production-eu-1 promote 0',
      'production-eu-2 preflight 0',
      'production-eu-2 canary 1',
      'production-eu-2 rollback 0',
    ]);
    // nothing reached wave 3's cluster: not one request since the set-up
    expect(clusters.get('production-us-1')!.sandbox.journal.list().length).toBe(untouched);
  }, 600_000);

  test('the outcome job names the clusters this run promoted: wave 1 only', async () => {
    const outcome = await wavesStep('outcome');
    expect(outcome.code).toBe(0);
    const out = outputsOf(outcome.output);
    promoted = JSON.parse(out.promoted!) as string[];
    expect(promoted).toEqual(['production-eu-1']);
    expect(outcome.stdout).toContain('wave 2 production-eu-2: rolled back');
    expect(outcome.stdout).toContain('wave 3 production-us-1: not started');
  });

  test('rollback-all returns wave 1 to 1.1.0 with its own lock and records', async () => {
    for (const cluster of promoted) {
      const run = await rollback(cluster, `rollback-all, VeloZ ${VERSION} failed in a later wave`);
      expect(run.errors).toEqual([]);
      expect(run.exitCode).toBe(0);
      expect(run.outputs['rejected-versions']).toBe(VERSION);
    }
    for (const c of ['production-eu-1', 'production-eu-2']) {
      expect({ c, image: imageIn(c) }).toEqual({ c, image: `${IMAGE}:1.1.0` });
    }
  }, 300_000);

  test('the summary: a row per cluster and the chart', async () => {
    const summary = await wavesStep('summary');
    expect(summary.code).toBe(0);
    expect(summary.summary).toContain(`## VeloZ ${VERSION} in 3 wave(s): ROLLED BACK`);
    expect(summary.summary).toMatch(
      /\| 1 canary \| production-eu-1 \| 1\.1\.0 \| 1\.1\.0 \| ↩️ rolled back \(rollback-all\) \|/,
    );
    expect(summary.summary).toMatch(/\| 2 europe \| production-eu-2 \| 1\.1\.0 \| 1\.1\.0 \| ↩️ rolled back \|/);
    expect(summary.summary).toMatch(/\| 3 americas \| production-us-1 \| +\| +\| ⏸️ not started \|/);
    expect(summary.summary).toContain('```mermaid\nflowchart LR');
  });

  test('the version is refused by preflight in every cluster, the one it never reached included', async () => {
    for (const cluster of clusters.keys()) {
      const run = await preflight(cluster);
      expect({ cluster, exit: run.exitCode, failed: run.outputs['failed-checks'] }).toEqual({
        cluster,
        exit: 1,
        failed: 'rejected',
      });
    }
    expect(github.violations).toEqual([]);
  }, 300_000);
});
