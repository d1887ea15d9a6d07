/**
 * Environments, permissions, concurrency and pinning of the workflows: the rules GitHub cannot
 * check before a run, checked here on the YAML.
 */
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { interpolate } from './support/expressions';
import { loadAction, loadWorkflow, ourAction, ROOT, workflowFiles, type Step } from './support/workflows';

const deploy = loadWorkflow('.github/workflows/deploy.yml');
const rollback = loadWorkflow('.github/workflows/rollback.yml');

describe('deploy.yml', () => {
  test('is reusable only (workflow_call)', () => {
    expect(Object.keys(deploy.on)).toEqual(['workflow_call']);
    const call = deploy.on.workflow_call!;
    expect(call.inputs!.environment).toMatchObject({ type: 'string', required: true });
    expect(call.inputs!.version).toMatchObject({ type: 'string', required: true });
    expect(Object.keys(call.secrets!).sort()).toEqual(
      [
        'DATABASE_URL',
        'KUBECONFIG',
        'NOTIFY_ROUTES',
        'NOTIFY_WEBHOOK',
        'REGISTRY_PASSWORD',
        'REGISTRY_USERNAME',
        'TEST_TOKEN',
      ].sort(),
    );
    expect(call.secrets!.KUBECONFIG!.required).toBe(true);
  });

  test('least privilege: contents read, deployments write; only preflight reads code-quality state', () => {
    expect(deploy.permissions).toEqual({ contents: 'read', deployments: 'write' });
    // Only preflight reads code-quality state from GitHub, with read-only scopes (issue 21), and the
    // rejections other clusters recorded (issue 29): deployments read, within the workflow's write.
    expect(deploy.jobs.preflight?.permissions).toEqual({
      contents: 'read',
      deployments: 'read',
      checks: 'read',
      statuses: 'read',
      'pull-requests': 'read',
      'security-events': 'read',
      issues: 'read',
    });
    // Only the automatic rollback writes issues: the incident ticket (issue 17).
    expect(deploy.jobs.rollback?.permissions).toEqual({ contents: 'read', deployments: 'write', issues: 'write' });
    for (const [name, job] of Object.entries(deploy.jobs))
      if (name !== 'preflight' && name !== 'rollback') expect([name, job.permissions]).toEqual([name, undefined]);
  });

  test('one deploy per environment at a time, never cancelled by the next', () => {
    expect(deploy.concurrency).toEqual({ group: 'deploy-${{ inputs.environment }}', 'cancel-in-progress': false });
  });

  const environments = (strategy: string) =>
    Object.fromEntries(
      Object.entries(deploy.jobs).map(([name, j]) => {
        const raw = typeof j.environment === 'string' ? j.environment : (j.environment?.name ?? '');
        return [name, interpolate(raw, { inputs: { environment: 'production', strategy } })];
      }),
    );

  test('side-by-side: only promote runs in the reviewed environment; every other job in -canary or -rollback', () => {
    expect(environments('side-by-side')).toEqual({
      preflight: 'production-canary',
      canary: 'production-canary',
      'validate-canary': 'production-canary',
      promote: 'production',
      validate: 'production-canary',
      rollback: 'production-rollback',
    });
  });

  test("in-place: the canary changes the release itself, so it runs behind the reviewers, with promote's credential", () => {
    expect(environments('in-place')).toEqual({
      preflight: 'production-canary',
      canary: 'production',
      'validate-canary': 'production-canary',
      promote: 'production',
      validate: 'production-canary',
      rollback: 'production-rollback',
    });
  });

  test('documents that a calling job cannot carry environment:', () => {
    const text = readFileSync(join(ROOT, '.github/workflows/deploy.yml'), 'utf8');
    expect(text).toMatch(/does not allow `environment:` on a job that calls a reusable workflow/);
  });

  test('window and freeze inputs keep the preflight action defaults (an empty with: would erase them)', () => {
    const spec = loadAction('preflight').inputs;
    for (const name of ['window-days', 'window-hours', 'window-timezone', 'month-end-days']) {
      expect({ name, default: String(deploy.on.workflow_call!.inputs![name]!.default) }).toEqual({
        name,
        default: spec[name]!.default,
      });
    }
  });
});

describe('rollback.yml', () => {
  const dispatch = rollback.on.workflow_dispatch!.inputs!;

  test('manual dispatch with the runbook §4 inputs', () => {
    expect(dispatch.environment).toMatchObject({ type: 'environment', required: true });
    expect(dispatch.reason).toMatchObject({ required: true });
    expect(dispatch.revision?.required ?? false).toBe(false);
    expect(dispatch['database-restore']).toMatchObject({
      type: 'choice',
      options: ['none', 'pitr', 'auto'],
      default: 'none',
    });
    expect(dispatch['allow-schema-mismatch']).toMatchObject({ type: 'boolean', default: false });
    expect(dispatch['recovery-time']).toBeDefined();
  });

  test('the job runs in <environment>-rollback, in its own queued group, never the deploys’ group', () => {
    const jobs = Object.values(rollback.jobs);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.environment).toBe('${{ inputs.environment }}-rollback');
    expect(rollback.concurrency).toBeUndefined();
    expect(jobs[0]!.concurrency).toEqual({
      group: 'rollback-${{ inputs.environment }}',
      'cancel-in-progress': false,
      queue: 'max',
    });
    expect(rollback.permissions).toEqual({ contents: 'read', deployments: 'write' });
    // the incident ticket (incident: github) is the job's only write beyond deployments
    expect(jobs[0]!.permissions).toEqual({ contents: 'read', deployments: 'write', issues: 'write' });
  });

  test('takes the release lock over and records reason, actor and run link', () => {
    const step = rollback.jobs.rollback!.steps!.find((s) => ourAction(s.uses) === 'rollback')!;
    expect(step.with!.force).toBe('true');
    const reason = String(step.with!.reason);
    for (const part of ['${{ inputs.reason }}', '${{ github.actor }}', '/actions/runs/${{ github.run_id }}'])
      expect(reason).toContain(part);
  });

  test('passes the dispatch inputs to the rollback action', () => {
    const step = rollback.jobs.rollback!.steps!.find((s) => ourAction(s.uses) === 'rollback')!;
    expect(step.with!['to-revision']).toBe('${{ inputs.revision }}');
    expect(step.with!['database-restore']).toBe('${{ inputs.database-restore }}');
    expect(step.with!['recovery-time']).toBe('${{ inputs.recovery-time }}');
    expect(String(step.with!.reason)).toContain('${{ inputs.reason }}');
  });
});

describe('release.yml', () => {
  const release = loadWorkflow('.github/workflows/release.yml');
  const steps = (job: string): Step[] => release.jobs[job]!.steps ?? [];

  test('manual, on main only, one at a time and never cancelled halfway', () => {
    expect(Object.keys(release.on)).toEqual(['workflow_dispatch']);
    expect(release.on.workflow_dispatch!.inputs!.version).toMatchObject({ type: 'string', required: true });
    expect(release.jobs.release!.if).toBe("github.ref == 'refs/heads/main'");
    expect(release.concurrency).toEqual({ group: 'release', 'cancel-in-progress': false });
  });

  test('least privilege: nothing by default; the OIDC and attestation writes only in the attest job', () => {
    expect(release.permissions).toEqual({});
    expect(release.jobs.release!.permissions).toEqual({ contents: 'read' });
    expect(release.jobs.attest!.permissions).toEqual({ contents: 'read', 'id-token': 'write', attestations: 'write' });
    // pushes and the release go through the environment's token, which GITHUB_TOKEN cannot replace;
    // it reaches the Release step alone (release-token.test.ts)
    expect(release.jobs.release!.environment).toBe('release');
    expect(steps('release')[0]!.with!['persist-credentials']).toBe(false);
    expect(steps('attest')[0]!.with!['persist-credentials']).toBe(false);
  });

  test('runs npm run release with the version through the environment, never spliced into the script', () => {
    const step = steps('release').find((s) => s.id === 'release')!;
    expect(step.run).toContain('npm run release -- "$VERSION"');
    expect(step.env!.VERSION).toBe('${{ inputs.version }}');
    for (const s of steps('release')) expect(s.run ?? '').not.toContain('${{');
  });

  test("attests the released tag's dist/ with actions/attest", () => {
    expect(release.jobs.attest!.needs).toBe('release');
    expect(steps('attest')[0]!.with!.ref).toBe('refs/tags/${{ needs.release.outputs.tag }}');
    const attest = steps('attest').find((s) => s.uses?.startsWith('actions/attest@'))!;
    expect(attest.with!['subject-path']).toBe('dist/**/*.js');
  });
});

describe('every workflow and example', () => {
  const files = workflowFiles();

  test('covers deploy, rollback, e2e-kind and the examples', () => {
    for (const f of [
      '.github/workflows/deploy.yml',
      '.github/workflows/rollback.yml',
      '.github/workflows/e2e-kind.yml',
      'examples/deploy.yml',
      'examples/rollback.yml',
    ]) {
      expect(files).toContain(f);
    }
  });

  test.each(files)('%s: third-party actions pinned by full commit SHA with a version comment', (file) => {
    const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
    for (const [i, line] of lines.entries()) {
      const m = /^\s*(?:-\s*)?uses:\s*(\S+)(.*)$/.exec(line);
      if (!m) continue;
      const [, uses = '', rest = ''] = m;
      if (uses.startsWith('./') || ourAction(uses) || uses.startsWith('veloz/deploy-actions/.github/workflows/'))
        continue;
      const where = `${file}:${i + 1}`;
      expect({ where, uses }).toEqual({ where, uses: expect.stringMatching(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/) });
      expect({ where, comment: rest.trim() }).toEqual({ where, comment: expect.stringMatching(/^# v\d+\.\d+\.\d+$/) });
    }
  });

  test.each(files)('%s: a job calling a reusable workflow carries no environment', (file) => {
    for (const [name, job] of Object.entries(loadWorkflow(file).jobs)) {
      if (job.uses) expect({ name, environment: job.environment }).toEqual({ name, environment: undefined });
    }
  });

  test.each(files)('%s: finds PostgreSQL by pg_config or a glob, never by a fixed major version', (file) => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    expect({ file, fixed: text.match(/postgresql\/\d+/g) ?? [] }).toEqual({ file, fixed: [] });
    if (/\bPG_BIN\b/.test(text)) expect(text).toContain('pg_config --bindir');
  });

  test.each(files)('%s: declares top-level permissions', (file) => {
    expect(loadWorkflow(file).permissions).toBeDefined();
  });
});

describe('examples', () => {
  test('the deploy caller runs on tag push and calls deploy.yml@v1 with named secrets', () => {
    const example = loadWorkflow('examples/deploy.yml');
    expect(Object.keys(example.on)).toEqual(['push']);
    expect((example.on.push as unknown as { tags: string[] }).tags.length).toBeGreaterThan(0);
    const call = Object.values(example.jobs).find((j) => j.uses)!;
    expect(call.uses).toBe('veloz/deploy-actions/.github/workflows/deploy.yml@v1');
    expect(call.secrets).toMatchObject({ KUBECONFIG: '${{ secrets.KUBECONFIG }}' });
  });

  test('the rollback caller is a manual dispatch calling rollback.yml@v1', () => {
    const example = loadWorkflow('examples/rollback.yml');
    expect(Object.keys(example.on)).toEqual(['workflow_dispatch']);
    expect(Object.values(example.jobs)[0]!.uses).toBe('veloz/deploy-actions/.github/workflows/rollback.yml@v1');
  });
});
