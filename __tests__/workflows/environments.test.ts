/**
 * Issue 14 item 7: every job that holds the KUBECONFIG runs in an environment whose deployment
 * branch/tag rules apply — `<environment>-canary` (no reviewers), `<environment>` (promote, with
 * reviewers) or `<environment>-rollback` (no reviewers) — and the docs and examples say which
 * secret lives where. The KUBECONFIG is stored only as an environment secret, so a job outside
 * those environments resolves it to nothing; these tests prove no such job asks for it.
 */
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { interpolate } from './support/expressions';
import { loadWorkflow, ROOT, workflowFiles, type Job, type Workflow } from './support/workflows';

const ALLOWED = ['production-canary', 'production', 'production-rollback'];
const STRATEGIES = ['side-by-side', 'in-place'];
const KUBECONFIG = /secrets\s*\.\s*KUBECONFIG\b|secrets\[\s*'KUBECONFIG'\s*\]/i;

/** The job's environment for each strategy, for a deploy to `production` ('' when it has none). */
const environmentsOf = (job: Job): string[] => {
  const raw = typeof job.environment === 'string' ? job.environment : (job.environment?.name ?? '');
  return STRATEGIES.map((strategy) => interpolate(raw, { inputs: { environment: 'production', strategy } }));
};
const inAllowed = (job: Job): boolean => environmentsOf(job).every((e) => ALLOWED.includes(e));

/** Jobs that would receive the KUBECONFIG outside an allowed environment. */
function leaks(workflow: Workflow): string[] {
  const found: string[] = [];
  if (KUBECONFIG.test(stringify(workflow.env ?? {}))) found.push('workflow-level env');
  for (const [name, job] of Object.entries(workflow.jobs)) {
    if (job.uses) {
      // A calling job may pass it by name only to our reusable workflows, whose jobs carry the environments
      // (waves.yml only hands it on to deploy.yml and rollback.yml: its own check here proves that).
      if (KUBECONFIG.test(stringify(job.secrets ?? {})) || job.secrets === 'inherit') {
        if (!/^veloz\/deploy-actions\/\.github\/workflows\/(deploy|rollback|waves)\.yml@/.test(job.uses))
          found.push(name);
      }
      continue;
    }
    if (KUBECONFIG.test(stringify(job)) && !inAllowed(job)) found.push(name);
  }
  return found;
}

describe('no job without a rule-bound environment receives the KUBECONFIG', () => {
  test.each(workflowFiles())('%s', (file) => {
    expect(leaks(loadWorkflow(file))).toEqual([]);
  });

  test('every job of deploy.yml and rollback.yml holds it, so every one has such an environment', () => {
    for (const file of ['.github/workflows/deploy.yml', '.github/workflows/rollback.yml']) {
      for (const [name, job] of Object.entries(loadWorkflow(file).jobs)) {
        expect({ file, name, holds: KUBECONFIG.test(stringify(job)) }).toEqual({ file, name, holds: true });
        expect({ file, name, environment: inAllowed(job) }).toEqual({
          file,
          name,
          environment: true,
        });
      }
    }
  });

  test.each([
    ['side-by-side', ['.github/workflows/deploy.yml:promote']],
    // an in-place canary shrinks the release itself: the promote credential, behind the reviewers
    ['in-place', ['.github/workflows/deploy.yml:canary', '.github/workflows/deploy.yml:promote']],
  ])(
    '%s: only these jobs are in the reviewed environment (a rollback never waits for a reviewer)',
    (strategy, want) => {
      const i = STRATEGIES.indexOf(strategy);
      const reviewed = ['.github/workflows/deploy.yml', '.github/workflows/rollback.yml'].flatMap((file) =>
        Object.entries(loadWorkflow(file).jobs)
          .filter(([, job]) => environmentsOf(job)[i] === 'production')
          .map(([name]) => `${file}:${name}`),
      );
      expect(reviewed).toEqual(want);
    },
  );

  test('the check catches a job without an environment, a wrong one, a workflow env and a foreign call', () => {
    const step = { run: 'kubectl get pods', env: { KUBECONFIG_CONTENT: '${{ secrets.KUBECONFIG }}' } };
    const workflow: Workflow = {
      on: { push: null },
      env: { K: '${{ secrets.kubeconfig }}' },
      jobs: {
        bare: { 'runs-on': 'x', steps: [step] },
        wrong: { 'runs-on': 'x', environment: 'staging', steps: [step] },
        fine: { 'runs-on': 'x', environment: { name: '${{ inputs.environment }}-canary' }, steps: [step] },
        // right for one strategy, wrong for the other
        half: {
          'runs-on': 'x',
          environment: "${{ inputs.strategy == 'in-place' && 'staging' || inputs.environment }}",
          steps: [step],
        },
        foreign: { uses: 'someone/else/.github/workflows/x.yml@v1', secrets: 'inherit' },
      },
    };
    expect(leaks(workflow)).toEqual(['workflow-level env', 'bare', 'wrong', 'half', 'foreign']);
  });
});

describe('which secret lives in which environment, in writing', () => {
  test('docs/environments.md: KUBECONFIG and DATABASE_URL only in the three environments', () => {
    const doc = readFileSync(join(ROOT, 'docs/environments.md'), 'utf8');
    const row = (secret: string): string => doc.split('\n').find((l) => l.startsWith(`| \`${secret}\``)) ?? '';
    expect(row('KUBECONFIG')).toMatch(/`production-canary`, `production` and `production-rollback` only/);
    expect(row('KUBECONFIG')).toMatch(/never a repository secret/);
    expect(row('DATABASE_URL')).toMatch(/environment secret of the same three/);
  });

  test.each(['.github/workflows/deploy.yml', 'examples/deploy.yml', 'examples/rollback.yml'])(
    '%s names where the KUBECONFIG is stored',
    (file) => {
      const text = readFileSync(join(ROOT, file), 'utf8');
      expect(text).toMatch(/KUBECONFIG[\s\S]{0,200}(only as an environment secret|environment secrets? of)/);
    },
  );

  test('the callers pass it by name, never `secrets: inherit`', () => {
    for (const file of ['examples/deploy.yml', 'examples/rollback.yml']) {
      const call = Object.values(loadWorkflow(file).jobs).find((j) => j.uses)!;
      expect(call.secrets).toMatchObject({ KUBECONFIG: '${{ secrets.KUBECONFIG }}' });
    }
  });
});
