/**
 * Issue 27: a caller must grant what the reusable workflow's jobs request, or GitHub refuses the whole
 * run before any job starts ("… is requesting 'issues: write', but is only allowed 'issues: none'").
 * Every caller in examples/ (and any workflow here that calls one of ours) is checked against the
 * called file as written (support/permissions.ts), and the examples grant exactly that, nothing more.
 */
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  callerGrant,
  callingJobs,
  checkCaller,
  compact,
  explain,
  localReusable,
  parsePermissions,
  requiredGrant,
  uniform,
  type Load,
} from './support/permissions';
import { loadWorkflow, ROOT, workflowFiles, type Workflow } from './support/workflows';

const callers = workflowFiles().flatMap((file) =>
  callingJobs(loadWorkflow(file)).map(([job, spec]) => ({ file, job, called: localReusable(spec.uses)! })),
);

describe('every caller of a local reusable workflow', () => {
  test('covers both examples', () => {
    expect(callers).toEqual(
      expect.arrayContaining([
        { file: 'examples/deploy.yml', job: 'production', called: '.github/workflows/deploy.yml' },
        { file: 'examples/rollback.yml', job: 'rollback', called: '.github/workflows/rollback.yml' },
      ]),
    );
  });

  test.each(callers)('$file job $job grants every scope $called requests', ({ file }) => {
    expect(checkCaller(file, loadWorkflow(file)).map(explain)).toEqual([]);
  });

  test.each(callers.filter((c) => c.file.startsWith('examples/')))(
    '$file job $job grants exactly what $called requests, nothing more',
    ({ file, job, called }) => {
      const workflow = loadWorkflow(file);
      // Explicit on the calling job: the example's other jobs keep the empty top-level grant.
      expect(workflow.permissions).toEqual({});
      expect(parsePermissions(workflow.jobs[job]!.permissions, file)).toBeDefined();
      expect(compact(callerGrant(workflow, job, file).grant)).toEqual(compact(requiredGrant(called)));
    },
  );

  test.each(['deploy.yml', 'rollback.yml'])('docs/environments.md names every scope a caller of %s grants', (name) => {
    const doc = readFileSync(join(ROOT, 'docs/environments.md'), 'utf8');
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${name}\``)) ?? '';
    const named = [...row.matchAll(/`([a-z-]+): (read|write)`/g)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(named)).toEqual(compact(requiredGrant(`.github/workflows/${name}`)));
  });

  test('what the callers must grant', () => {
    expect(compact(requiredGrant('.github/workflows/deploy.yml'))).toEqual({
      checks: 'read',
      contents: 'read',
      deployments: 'write',
      issues: 'write',
      'pull-requests': 'read',
      'security-events': 'read',
      statuses: 'read',
    });
    expect(compact(requiredGrant('.github/workflows/rollback.yml'))).toEqual({
      contents: 'read',
      deployments: 'write',
      issues: 'write',
    });
  });
});

// The examples as they were before issue 27: GitHub refused both runs at start-up.
const OLD_DEPLOY_CALLER = `
on: { push: { tags: ['v*'] } }
permissions:
  contents: read
  deployments: write
jobs:
  production:
    uses: veloz/deploy-actions/.github/workflows/deploy.yml@v1
`;
const OLD_ROLLBACK_CALLER = `
on: workflow_dispatch
permissions:
  contents: read
  deployments: write
jobs:
  rollback:
    uses: veloz/deploy-actions/.github/workflows/rollback.yml@v1
`;

describe('the checker', () => {
  test('catches the old examples, naming caller, job, scope, granted and requested', () => {
    const deploy = checkCaller('examples/deploy.yml', parse(OLD_DEPLOY_CALLER) as Workflow).map(explain);
    const grantedBy = '(examples/deploy.yml workflow-level permissions)';
    expect(deploy).toEqual(
      expect.arrayContaining([
        `examples/deploy.yml job production calls .github/workflows/deploy.yml: its job preflight requests 'checks: read', but the caller grants only 'checks: none' ${grantedBy}`,
        `examples/deploy.yml job production calls .github/workflows/deploy.yml: its job preflight requests 'security-events: read', but the caller grants only 'security-events: none' ${grantedBy}`,
        `examples/deploy.yml job production calls .github/workflows/deploy.yml: its job rollback requests 'issues: write', but the caller grants only 'issues: none' ${grantedBy}`,
      ]),
    );
    expect(deploy).toHaveLength(6); // checks, statuses, pull-requests, security-events, issues (preflight, rollback)
    const rollback = checkCaller('examples/rollback.yml', parse(OLD_ROLLBACK_CALLER) as Workflow).map(explain);
    expect(rollback).toEqual([
      `examples/rollback.yml job rollback calls .github/workflows/rollback.yml: its job rollback requests 'issues: write', but the caller grants only 'issues: none' (examples/rollback.yml workflow-level permissions)`,
    ]);
  });

  // Synthetic called workflows, to pin down each rule.
  const files: Record<string, string> = {
    '.github/workflows/called.yml': `
on: workflow_call
permissions: { contents: read }
jobs:
  inherits: { runs-on: x, steps: [] }
  writes: { runs-on: x, permissions: { contents: read, issues: write }, steps: [] }
`,
    '.github/workflows/bare.yml': `
on: workflow_call
jobs:
  inherits: { runs-on: x, steps: [] }
`,
    '.github/workflows/outer.yml': `
on: workflow_call
jobs:
  inner: { uses: ./.github/workflows/called.yml }
`,
    '.github/workflows/all.yml': `
on: workflow_call
permissions: read-all
jobs:
  inherits: { runs-on: x, steps: [] }
`,
  };
  const load: Load = (path) => {
    const text = files[path];
    if (!text) throw new Error(`no fixture ${path}`);
    return parse(text) as Workflow;
  };
  const caller = (permissions: string, jobPermissions = '', uses = './.github/workflows/called.yml'): string[] =>
    checkCaller(
      'caller.yml',
      parse(`
on: push
${permissions}
jobs:
  call:
    uses: ${uses}
${jobPermissions}
`) as Workflow,
      load,
    ).map((v) => `${v.job} ${v.scope}: ${v.requested} > ${v.granted}`);

  test('write includes read; a called job cannot elevate', () => {
    expect(caller('permissions: { contents: write, issues: write }')).toEqual([]);
    expect(caller('permissions: { contents: read, issues: read }')).toEqual(['job writes issues: write > read']);
  });

  test('{} grants nothing; the called top-level block is a request too', () => {
    expect(caller('permissions: {}')).toEqual([
      '(workflow level) contents: read > none',
      'job writes contents: read > none',
      'job writes issues: write > none',
    ]);
  });

  test('read-all and write-all set every scope', () => {
    expect(caller('permissions: read-all')).toEqual(['job writes issues: write > read']);
    expect(caller('permissions: write-all')).toEqual([]);
    expect(caller('permissions: { contents: read }', '', './.github/workflows/all.yml')).toContain(
      '(workflow level) issues: read > none',
    );
  });

  test("the calling job's permissions replace the workflow-level ones", () => {
    expect(caller('permissions: {}', '    permissions: { contents: read, issues: write }')).toEqual([]);
    expect(caller('permissions: write-all', '    permissions: { contents: read }')).toEqual([
      'job writes issues: write > none',
    ]);
  });

  test('a caller that sets nothing gets the restricted default', () => {
    expect(caller('')).toEqual(['job writes issues: write > none']);
  });

  test('a called workflow that asks for nothing takes the caller token as it is', () => {
    expect(caller('permissions: {}', '', './.github/workflows/bare.yml')).toEqual([]);
  });

  test('nested calls are followed, and the least a caller must grant includes them', () => {
    expect(caller('permissions: { contents: read }', '', './.github/workflows/outer.yml')).toEqual([
      'job writes issues: write > none',
    ]);
    expect(compact(requiredGrant('.github/workflows/outer.yml', load))).toEqual({ contents: 'read', issues: 'write' });
  });

  test('resolves our reusable workflows by local path or repository reference, nothing else', () => {
    expect(localReusable('./.github/workflows/deploy.yml')).toBe('.github/workflows/deploy.yml');
    expect(localReusable('veloz/deploy-actions/.github/workflows/rollback.yml@v1')).toBe(
      '.github/workflows/rollback.yml',
    );
    expect(localReusable('other/repo/.github/workflows/deploy.yml@v1')).toBeUndefined();
    expect(localReusable('veloz/deploy-actions/canary@v1')).toBeUndefined();
  });

  test('refuses what GitHub refuses: an unknown scope or level', () => {
    expect(() => parsePermissions({ issue: 'write' }, 'x.yml')).toThrow('unknown permission scope issue');
    expect(() => parsePermissions({ issues: 'admin' }, 'x.yml')).toThrow('issues must be read, write or none');
    expect(parsePermissions('write-all', 'x.yml')).toEqual(uniform('write'));
  });
});
