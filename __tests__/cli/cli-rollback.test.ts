import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle, workspaceTempDir } from '@veloz/harness';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Report } from '@veloz/shared/report';
import { startCluster, type Cluster } from '../support/cluster';
import { runCli } from './run-cli';

let cluster: Cluster;
let work: string;

beforeAll(async () => {
  cluster = await startCluster();
  work = await workspaceTempDir('veloz-cli-test-');
  await cluster.install('1.0.0');
  await cluster.install('1.1.0');
}, 120_000);
afterAll(async () => {
  await cluster?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

const REASON = 'error rate above 5% for 5 minutes';

function cli(argv: string[]) {
  // The kubeconfig comes from KUBECONFIG, as it does for kubectl; helm is on PATH.
  return runCli(argv, cluster.env);
}

function images(): string[] {
  return cluster.sandbox
    .list('pods', 'veloz', 'app.kubernetes.io/name=veloz')
    .filter((p) => !(p.metadata as { deletionTimestamp?: string }).deletionTimestamp)
    .map((p) => (p as unknown as { spec: { containers: { image: string }[] } }).spec.containers[0]!.image)
    .sort();
}

function deploymentAnnotations(): Record<string, string> {
  const deployment = cluster.sandbox.list('deployments', 'veloz').find((d) => d.metadata.name === 'veloz-engine');
  return (deployment?.metadata as { annotations?: Record<string, string> }).annotations ?? {};
}

/** Two runs of the same state differ only in when they ran and how long each step took. */
function timeless(report: Report): unknown {
  return {
    ...report,
    startedAt: 'T',
    finishedAt: 'T',
    steps: report.steps.map((s) => ({ ...s, durationMs: s.durationMs === undefined ? undefined : 0 })),
    checks: report.checks.map((c) => ({ ...c, durationMs: 0 })),
  };
}

describe('veloz-deploy with no workflow running', () => {
  test('bad flags exit 2 with the rollback action’s own input errors, and nothing is asked of the cluster', async () => {
    const bad = { 'to-revision': 'latest', 'database-restore': 'maybe', timeout: 'soon' };
    const action = await runActionBundle('rollback', { reason: REASON, ...bad }, { env: cluster.env });
    const before = cluster.sandbox.journal.list().length;
    const run = await cli(['rollback', '--reason', REASON, ...Object.entries(bad).flatMap(([k, v]) => [`--${k}`, v])]);
    expect(run.code).toBe(2);
    const messages = run.stderr
      .trim()
      .split('\n')
      .map((line) => line.replace(/^error: /, ''));
    expect(action.errors).toHaveLength(3);
    expect(messages).toEqual(action.errors);
    expect(cluster.sandbox.journal.list().length).toBe(before);

    const unknown = await cli(['rollback', '--reason', REASON, '--to-revison', '3']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown flag --to-revison for rollback: see veloz-deploy rollback --help');
  }, 120_000);

  test('rollback restores the previous version, verifies it and leaves the records, as cli:<user>@<host>', async () => {
    const log = join(work, 'deployments.log');
    const run = await cli(['rollback', '--reason', REASON, '--timeout', '60s', '--deployment-log', log]);
    expect(run.stderr).not.toContain('error:');
    expect(run.code).toBe(0);
    expect(images()).toEqual(['veloz/engine:1.0.0', 'veloz/engine:1.0.0']);
    // progress on stderr with the time since start; the aligned report on stdout
    expect(run.stderr).toMatch(/\[\s*\d+\.\ds\] ▶ Roll back to revision 1 \(v1\.0\.0\)/);
    expect(run.stderr).toMatch(/\[\s*\d+\.\ds\] ✔ Verify health/);
    expect(run.stdout).toContain('Rollback: veloz in veloz: SUCCESS');
    expect(run.stdout).toMatch(/From\s+revision 2 \(v1\.1\.0\)/);
    expect(run.stdout).toMatch(/✔ pass\s+Health of pod veloz-engine-\S+:8080/);
    expect(run.stdout).not.toContain('\u001b['); // not a TTY: no colours
    const record = JSON.parse(deploymentAnnotations()['veloz.io/rolled-back']!) as {
      run: string;
      to: { revision: number };
    };
    expect(record.run).toMatch(new RegExp(`^cli:oncall@${hostname()}/pid/`));
    expect(record.to.revision).toBe(1);
    expect(await readFile(log, 'utf8')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ - ROLLBACK from v1\.1\.0\n$/);
    expect(cluster.sandbox.list('leases', 'veloz')).toHaveLength(0); // the lock is given back
  }, 180_000);

  test('--json prints the report the action writes for the same run', async () => {
    const temp = await mkdtemp(join(work, 'runner-'));
    const action = await runActionBundle(
      'rollback',
      { reason: REASON },
      { env: { ...cluster.env, RUNNER_TEMP: temp } },
    );
    expect(action.exitCode).toBe(0);
    const dir = join(temp, 'veloz-reports');
    const file = (await readdir(dir)).find((f) => f.startsWith('rollback-'))!;
    const fromAction = JSON.parse(await readFile(join(dir, file), 'utf8')) as Report;
    const run = await cli(['rollback', '--reason', REASON, '--json']);
    expect(run.code).toBe(0);
    const fromCli = JSON.parse(run.stdout) as Report;
    expect(fromCli.headline).toContain('was already rolled back from revision 2 (v1.1.0) to revision 1 (v1.0.0)');
    expect(timeless(fromCli)).toEqual(timeless(fromAction));
  }, 180_000);
});

describe('veloz-deploy and a running workflow exclude each other', () => {
  const holder = 'https://github.com/veloz/veloz/actions/runs/77';

  test('a lock held by an action fails naming it; --force takes it over', async () => {
    await cluster.install('1.2.0');
    // renewed 2 s ago, a 20 s lease: live. Forced, the CLI waits out its next renewal counted from when it
    // saw the lease (a renewal every 7 s, bounded by 3 s, plus 3 s): the holder's renewTime is its own clock's.
    cluster.holdLease(holder, 2, 'canary canary', 20);
    const blocked = await cli(['rollback', '--reason', REASON, '--lock-wait', '0s']);
    expect(blocked.code).toBe(1);
    expect(blocked.stdout).toContain(`Release is locked by canary canary run ${holder} by someone`);
    expect(blocked.stdout).toContain('re-run this rollback with `--force`');
    expect(images()).toEqual(['veloz/engine:1.2.0', 'veloz/engine:1.2.0']);

    const forced = await cli(['rollback', '--reason', REASON, '--force', '--timeout', '60s']);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toContain(
      `warning: Release lock taken over from canary canary run ${holder} by someone (force: true)`,
    );
    // the newest good revision on another version: revision 3, the earlier rollback to 1.0.0
    expect(images()).toEqual(['veloz/engine:1.0.0', 'veloz/engine:1.0.0']);
  }, 240_000);
});
