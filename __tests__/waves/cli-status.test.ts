/**
 * `veloz-deploy status` over a kubeconfig with several contexts (issue 29 item 4): two sandboxes merged
 * into one file, plus a context whose API server is not there. Each context gets its row; the broken
 * one is an error in its own row and hides nothing.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { cli } from '../../cli/src/main';
import { renderStatusTable, type ClusterStatus } from '../../cli/src/status';
import { startCluster, type Cluster } from '../support/cluster';

interface Named {
  name: string;
  [k: string]: unknown;
}
interface Doc {
  clusters: Named[];
  users: Named[];
  contexts: Named[];
  [k: string]: unknown;
}

let eu: Cluster;
let us: Cluster;
let dir: string;
let merged: string;

/** One kubeconfig of every cluster, each under its own cluster, user and context name (kubectl config view --flatten). */
function mergeKubeconfigs(parts: Record<string, string>): string {
  const out: Doc = { apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [] };
  for (const [name, text] of Object.entries(parts)) {
    const doc = parse(text) as Doc;
    const context = doc.contexts[0]!.context as Record<string, string>;
    out.clusters.push({ name, cluster: doc.clusters.find((c) => c.name === context.cluster)!.cluster });
    out.users.push({ name, user: doc.users.find((u) => u.name === context.user)!.user });
    out.contexts.push({ name, context: { ...context, cluster: name, user: name } });
  }
  out['current-context'] = Object.keys(parts)[0];
  return stringify(out);
}

beforeAll(async () => {
  [eu, us] = await Promise.all([startCluster(), startCluster()]);
  await Promise.all([eu.install('1.1.0'), us.install('1.1.0')]);
  await eu.install('1.2.0');
  eu.holdLease('https://github.com/veloz/veloz/actions/runs/77', 10, 'canary');
  // green beside blue in us: what a canary that is still running leaves
  us.sandbox.apply({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'veloz-engine-green', namespace: 'veloz' },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'green' } },
      template: { metadata: { labels: { app: 'green' } }, spec: { containers: [{ name: 'e', image: 'x:1.3.0' }] } },
    },
  });
  dir = await mkdtemp(join(tmpdir(), 'veloz-status-'));
  const dead = eu.sandbox.kubeconfig.replace(/server: .*/, 'server: https://127.0.0.1:1');
  merged = join(dir, 'kubeconfig');
  await writeFile(
    merged,
    mergeKubeconfigs({ 'prod-eu': eu.sandbox.kubeconfig, 'prod-us': us.sandbox.kubeconfig, 'prod-ap': dead }),
    { mode: 0o600 },
  );
}, 120_000);
afterAll(async () => {
  await Promise.all([eu?.stop(), us?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function status(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: {},
    root: '.',
  };
  const code = await cli(['status', ...args], io);
  return { code, stdout, stderr };
}

describe('veloz-deploy status', () => {
  test('--json: per context the version, revisions, green and lock; the dead one is an error in its row', async () => {
    const run = await status(['--kubeconfig', merged, '--json']);
    expect(run.code).toBe(1); // one context could not be read
    const { target, clusters } = JSON.parse(run.stdout) as { target: unknown; clusters: ClusterStatus[] };
    expect(target).toEqual({ namespace: 'veloz', release: 'veloz', deployment: 'veloz-engine' });
    expect(clusters.map((c) => c.context)).toEqual(['prod-eu', 'prod-us', 'prod-ap']);
    const [euRow, usRow, apRow] = clusters;
    expect(euRow).toMatchObject({ version: '1.2.0', helmRevision: 2, helmStatus: 'deployed', green: false });
    expect(euRow!.deploymentRevision).toBe('2');
    expect(euRow!.lock).toMatchObject({
      holder: 'https://github.com/veloz/veloz/actions/runs/77',
      action: 'canary',
      expired: false,
    });
    // renewed 10 s ago with a 120 s TTL: expires in about 110 s
    const left = Date.parse(euRow!.lock!.expiresAt!) - Date.now();
    expect(left).toBeGreaterThan(60_000);
    expect(left).toBeLessThan(120_000);
    expect(usRow).toMatchObject({ version: '1.1.0', helmRevision: 1, green: true });
    expect(usRow!.lock).toBeUndefined();
    expect(usRow!.error).toBeUndefined();
    expect(apRow!.error).toBeTruthy();
    expect(apRow!.version).toBeUndefined();
  }, 60_000);

  test('the table for people, one line per context', async () => {
    const run = await status(['--kubeconfig', merged]);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/Context\s+Version\s+Helm\s+Deployment\s+Green\s+Lock holder\s+Lock expires\s+Error/);
    expect(lines[1]).toMatch(
      /prod-eu\s+1\.2\.0\s+2 \(deployed\)\s+2\s+no\s+https:\/\/github\.com\/veloz\/veloz\/actions\/runs\/77 \(canary\)/,
    );
    expect(lines[2]).toMatch(/prod-us\s+1\.1\.0\s+1 \(deployed\)\s+1\s+yes\s+free\s+-/);
    expect(lines[3]).toMatch(/prod-ap\s+-\s+-\s+-\s+-\s+free\s+-\s+\S/);
  }, 60_000);

  test('--context filters to one; an unknown context names the ones there are', async () => {
    const one = await status(['--kubeconfig', merged, '--context', 'prod-us', '--json']);
    expect(one.code).toBe(0);
    expect((JSON.parse(one.stdout) as { clusters: ClusterStatus[] }).clusters.map((c) => c.context)).toEqual([
      'prod-us',
    ]);
    const bad = await status(['--kubeconfig', merged, '--context', 'prod-mars']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected one of prod-eu, prod-us, prod-ap');
  }, 60_000);

  test('bad flags are usage errors: an unknown one, a bad release name', async () => {
    expect((await status(['--kubeconfig', merged, '--force'])).stderr).toContain('unknown flag --force for status');
    const bad = await status(['--kubeconfig', merged, '--release', 'Not_A_Name']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--release Not_A_Name: expected');
  });

  test('an expired lease reads expired in the table', () => {
    const rows: ClusterStatus[] = [
      {
        context: 'x',
        version: '1.0.0',
        green: false,
        lock: { holder: 'run/1', expired: true, expiresAt: '2026-01-01T00:00:00.000Z' },
      },
    ];
    expect(renderStatusTable(rows)).toContain('2026-01-01T00:00:00.000Z (expired)');
  });
});
