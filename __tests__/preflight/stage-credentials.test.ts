/**
 * Issue 27 item 1: a credential per stage. The canary stage's Role (README, generated from
 * permissions.ts) starts green and cannot read a Secret or change the release; preflight's rbac
 * check proves a credential has its stage's permissions and warns when it has more. Sandbox RBAC.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { stageRoleManifest } from '@veloz/harness/role-manifests';
import { parseAllDocuments } from 'yaml';
import { CHART, VALUES_PRODUCTION, startCluster, type Cluster } from '../support/cluster';

const WRITES = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);
const IN_WINDOW = { 'evaluate-at': '2026-11-24T11:00:00Z' };

let cluster: Cluster;
let canaryKubeconfig: string;

/** The canary stage's Role and ClusterRole, as printed in the README, bound to one token. */
function canaryRules(): unknown[] {
  return parseAllDocuments(stageRoleManifest('canary')).flatMap((doc) => (doc.toJS() as { rules: unknown[] }).rules);
}

beforeAll(async () => {
  cluster = await startCluster();
  await cluster.install('1.0.0');
  cluster.sandbox.addToken('canary-stage-token', 'canary-deployer', { kind: 'Role', rules: canaryRules() });
  canaryKubeconfig = cluster.sandbox.kubeconfig.replaceAll(cluster.sandbox.token, 'canary-stage-token');
}, 120_000);
afterAll(async () => cluster?.stop());

function preflight(inputs: Record<string, string>) {
  return runActionBundle('preflight', { ...IN_WINDOW, ...inputs }, { env: cluster.env, timeoutMs: 120_000 });
}

describe('the canary stage credential', () => {
  test('cannot read a Secret: the sandbox refuses it', async () => {
    const path = '/api/v1/namespaces/veloz/secrets';
    const res = await cluster.sandbox.request('GET', path, undefined, { token: 'canary-stage-token' });
    expect(res.status).toBe(403);
  });

  test("preflight's rbac check passes it for the canary stage, and its release check says what it cannot read", async () => {
    const run = await preflight({ checks: 'rbac, release', kubeconfig: canaryKubeconfig });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.summary).toMatch(/Deploy credentials \(RBAC, canary stage\) \| ✅ pass \| (\d+)\/\1 permissions/);
    expect(run.summary).toContain('release history not readable');
  });

  test('the same credential lacks what the promote stage needs, and the check names it', async () => {
    const run = await preflight({ checks: 'rbac', kubeconfig: canaryKubeconfig, 'credential-stage': 'promote' });
    expect(run.exitCode).toBe(1);
    expect(run.errors[0]).toContain('get, list, watch, create, update, patch, delete secrets (helm: release history)');
    expect(run.errors[0]).toContain('update, patch, delete apps/deployments (deploy, roll back, remove green)');
  });

  test('starts a side-by-side canary, writing only green and the Lease', async () => {
    const mark = cluster.sandbox.journal.list().length;
    const run = await runActionBundle(
      'canary',
      {
        kubeconfig: canaryKubeconfig,
        driver: 'helm',
        chart: CHART,
        'values-files': VALUES_PRODUCTION,
        phase: 'canary',
        strategy: 'side-by-side',
        version: '1.1.0',
        timeout: '60s',
      },
      { env: cluster.env, timeoutMs: 120_000 },
    );
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.outputs['previous-revision']).toBe('');
    expect(run.stdout).toContain(
      "Release history: not readable with this credential (the canary stage's Role reads no Secrets)",
    );
    expect(run.warnings.join('\n')).toContain(
      "needs helm's release history, which the canary stage's credential cannot read",
    );
    const writes = cluster.sandbox.journal
      .list()
      .slice(mark)
      .filter((r) => WRITES.has(r.verb) && r.user === 'canary-deployer');
    expect(writes.length).toBeGreaterThan(0);
    const touched = new Set(writes.map((w) => `${w.resource}/${w.name ?? '(new)'}`));
    for (const t of touched) expect(t).toMatch(/^(deployments\/veloz-engine-green|deployments\/\(new\)|leases\/.*)$/);
    expect(writes.some((w) => w.resource === 'secrets')).toBe(false);
    const denied = cluster.sandbox.journal
      .list()
      .slice(mark)
      .filter((r) => r.user === 'canary-deployer' && r.code === 403);
    // helm's history is the only thing it was refused, and the canary carried on without it
    expect(new Set(denied.map((d) => d.resource))).toEqual(new Set(['secrets']));
  });
});

describe('a credential that can do more than its stage', () => {
  test('the admin credential as the canary stage: the rbac check warns, naming what it can do beyond', async () => {
    const run = await preflight({ checks: 'rbac' });
    expect(run.exitCode).toBe(0);
    expect(run.summary).toContain('can also get secrets, patch apps/deployments veloz-engine');
    const strict = await preflight({ checks: 'rbac', 'fail-on': 'warn' });
    expect(strict.exitCode).toBe(1);
    expect(strict.errors.join('\n')).toContain('more than the canary stage needs');
  });
});
