import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { CHART, VALUES_PRODUCTION, startCluster, type Cluster } from '../support/cluster';
import { runCli } from './run-cli';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster();
  await cluster.install('1.0.0');
}, 120_000);
afterAll(async () => cluster?.stop());

const MUTATING = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** Every write the sandbox saw since `since` (epoch ms): a plan must leave this empty. */
function writesSince(since: number): string[] {
  return cluster.sandbox.journal
    .list({ since })
    .filter((e) => MUTATING.has(e.verb))
    .map((e) => `${e.verb} ${e.resource}/${e.name ?? ''}`);
}

const CANARY_FLAGS = ['--version', '1.1.0', '--chart', CHART, '--values-files', VALUES_PRODUCTION];
const INPLACE = [...CANARY_FLAGS, '--strategy', 'in-place'];

async function plan(what: string, flags: string[]) {
  const since = Date.now();
  const run = await runCli(['plan', what, ...flags], cluster.env);
  return { ...run, writes: writesSince(since) };
}

/** The diff table row of one field: object (on its first row), change, field, now, after. */
function row(field: string, now: string, after: string): RegExp {
  const esc = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`${esc(field)}\\s+${esc(now)}\\s+${esc(after)}`);
}

// The fixture chart leaves replicas to the autoscaler when autoscaling is on: `(unset)` in the diff.
describe('veloz-deploy plan: what would change, changing nothing', () => {
  test('plan canary (in place): the helm argv and a diff naming image, replicas and the autoscaler', async () => {
    const run = await plan('canary', INPLACE);
    expect(run.stderr).not.toContain('error:');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(
      `$ helm upgrade veloz ${CHART} -n veloz -f ${VALUES_PRODUCTION} --set-string engine.image.tag=1.1.0 --set engine.replicaCount=1 --set autoscaling.enabled=false --wait --timeout 5m0s`,
    );
    expect(run.stdout).toContain('Leads to: helm revision 2 of veloz (now 1)');
    expect(run.stdout).toMatch(/Deployment\/veloz-engine\s+changed/);
    expect(run.stdout).toMatch(row('spec.replicas', '(unset)', '1'));
    expect(run.stdout).toMatch(
      row('spec.template.spec.containers[0].image', 'veloz/engine:1.0.0', 'veloz/engine:1.1.0'),
    );
    expect(run.stdout).toMatch(/HorizontalPodAutoscaler\/veloz-engine\s+removed\s+spec\.maxReplicas\s+6/);
    expect(run.writes).toEqual([]);
  }, 120_000);

  test('plan canary (side by side): green added, the release untouched, no revision', async () => {
    const run = await plan('canary', CANARY_FLAGS);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('$ create Deployment veloz-engine-green -n veloz: 1 × veloz/engine:1.1.0');
    expect(run.stdout).toContain('Leads to: no new revision');
    expect(run.stdout).toMatch(/Deployment\/veloz-engine-green\s+added/);
    expect(run.stdout).not.toMatch(/Deployment\/veloz-engine\s/);
    expect(run.writes).toEqual([]);
  }, 120_000);

  test('a canary ends with the plan of the coming promote; plan promote and plan rollback after it', async () => {
    const canary = await runCli(['canary', ...INPLACE, '--timeout', '60s'], cluster.env);
    expect(canary.code).toBe(0);
    const promotePart = canary.stdout.slice(canary.stdout.indexOf('Plan of the coming promote'));
    expect(promotePart).toContain('--set engine.replicaCount=2 --set autoscaling.enabled=true');
    expect(promotePart).toMatch(row('spec.replicas', '1', '(unset)'));
    expect(promotePart).toMatch(/HorizontalPodAutoscaler\/veloz-engine\s+added/);

    const promote = await plan('promote', INPLACE);
    expect(promote.code).toBe(0);
    expect(promote.stdout).toContain('Leads to: helm revision 3 of veloz (now 2)');
    expect(promote.stdout).toMatch(row('spec.replicas', '1', '(unset)'));
    expect(promote.writes).toEqual([]);

    const rollback = await plan('rollback', ['--reason', 'canary error rate']);
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toContain('$ helm rollback veloz 1 -n veloz --wait --timeout 5m0s');
    expect(rollback.stdout).toMatch(
      /\$ update ConfigMap veloz-rejected-versions -n veloz: v\S+ rejected \(preflight refuses it without override-reason\)/,
    );
    expect(rollback.stdout).toMatch(
      row('spec.template.spec.containers[0].image', 'veloz/engine:1.1.0', 'veloz/engine:1.0.0'),
    );
    expect(rollback.stdout).toMatch(row('spec.replicas', '1', '(unset)'));
    expect(rollback.stdout).toMatch(/HorizontalPodAutoscaler\/veloz-engine\s+added/);
    expect(rollback.writes).toEqual([]);
  }, 240_000);

  test('the rollback action with plan: true reports the same plan, takes no lock and writes nothing', async () => {
    cluster.holdLease('https://github.com/veloz/veloz/actions/runs/88', 5, 'canary promote');
    const since = Date.now();
    const run = await runActionBundle(
      'rollback',
      { reason: 'canary error rate', plan: 'true' },
      { env: cluster.env, timeoutMs: 120_000 },
    );
    expect(run.errors).toEqual([]);
    expect(run.summary).toContain('### Plan: rollback');
    expect(run.summary).toContain('helm rollback veloz 1 -n veloz --wait --timeout 5m0s');
    expect(run.summary).toMatch(/\| spec\.replicas \| 1 \| \(unset\) \|/);
    expect(run.summary).not.toContain('ROLLBACK INITIATED');
    expect(writesSince(since)).toEqual([]);
  }, 120_000);
});

describe('veloz-deploy plan with the kubectl driver: the API writes and the Deployment and autoscaler specs', () => {
  let kubectlCluster: Cluster;
  beforeAll(async () => {
    kubectlCluster = await startCluster();
    await kubectlCluster.install('1.0.0');
  }, 120_000);
  afterAll(async () => kubectlCluster?.stop());

  const KUBECTL = ['--driver', 'kubectl', '--image', 'veloz/engine', '--version', '1.1.0', '--strategy', 'in-place'];
  const writes = (since: number) =>
    kubectlCluster.sandbox.journal
      .list({ since })
      .filter((e) => MUTATING.has(e.verb))
      .map((e) => `${e.verb} ${e.resource}/${e.name ?? ''}`);

  test('plan canary, the canary, then plan rollback', async () => {
    let since = Date.now();
    const canaryPlan = await runCli(['plan', 'canary', ...KUBECTL], kubectlCluster.env);
    expect(canaryPlan.code).toBe(0);
    expect(canaryPlan.stdout).toContain(
      '$ patch Deployment veloz-engine -n veloz: image veloz/engine:1.1.0, replicas 1',
    );
    expect(canaryPlan.stdout).toContain(
      '$ delete HorizontalPodAutoscaler veloz-engine -n veloz (kept in an annotation)',
    );
    expect(canaryPlan.stdout).toMatch(row('spec.replicas', '2', '1'));
    expect(canaryPlan.stdout).toMatch(
      row('spec.template.spec.containers[0].image', 'veloz/engine:1.0.0', 'veloz/engine:1.1.0'),
    );
    expect(canaryPlan.stdout).toMatch(/HorizontalPodAutoscaler\/veloz-engine\s+removed/);
    expect(writes(since)).toEqual([]);

    const canary = await runCli(['canary', ...KUBECTL, '--timeout', '60s'], kubectlCluster.env);
    expect(canary.code).toBe(0);

    since = Date.now();
    const rollbackPlan = await runCli(
      ['plan', 'rollback', '--driver', 'kubectl', '--reason', 'bad'],
      kubectlCluster.env,
    );
    expect(rollbackPlan.code).toBe(0);
    expect(rollbackPlan.stdout).toMatch(
      /\$ update Deployment veloz-engine -n veloz: the pod template of ReplicaSet veloz-engine-\S+ \(revision 1 \(v1\.0\.0\)\)/,
    );
    expect(rollbackPlan.stdout).toContain('$ create HorizontalPodAutoscaler veloz-engine -n veloz (restored)');
    expect(rollbackPlan.stdout).toMatch(row('spec.replicas', '1', '2'));
    expect(rollbackPlan.stdout).toMatch(/HorizontalPodAutoscaler\/veloz-engine\s+added/);
    expect(writes(since)).toEqual([]);
  }, 240_000);
});
