/**
 * Every `with:` passed to our actions (and to our reusable workflows) names a declared input, every
 * required input is passed, and every output a workflow reads is one the job, step or action declares.
 */
import { describe, expect, test } from '@jest/globals';
import { loadAction, loadWorkflow, needsOf, ourAction, workflowFiles, type Workflow } from './support/workflows';

const files = workflowFiles();
const workflows = files.map((file) => [file, loadWorkflow(file)] as const);

const REUSABLE: Record<string, string> = {
  'veloz/deploy-actions/.github/workflows/deploy.yml': '.github/workflows/deploy.yml',
  'veloz/deploy-actions/.github/workflows/rollback.yml': '.github/workflows/rollback.yml',
};

describe.each(workflows)('%s', (_file, workflow) => {
  const steps = Object.entries(workflow.jobs).flatMap(([job, j]) => (j.steps ?? []).map((step) => ({ job, step })));

  test('our actions get only declared inputs, and every required one', () => {
    for (const { job, step } of steps) {
      const action = ourAction(step.uses);
      if (!action) continue;
      const spec = loadAction(action);
      const passed = Object.keys(step.with ?? {});
      const where = `${job} → ${step.id ?? step.name ?? step.uses}`;
      expect({ where, unknown: passed.filter((k) => !(k in spec.inputs)) }).toEqual({ where, unknown: [] });
      const required = Object.entries(spec.inputs)
        .filter(([, i]) => i.required)
        .map(([k]) => k);
      expect({ where, missing: required.filter((k) => !passed.includes(k)) }).toEqual({ where, missing: [] });
    }
  });

  test('step outputs read by job outputs are declared by the action', () => {
    for (const [job, j] of Object.entries(workflow.jobs)) {
      for (const [name, value] of Object.entries(j.outputs ?? {})) {
        for (const [, id, output] of value.matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g)) {
          const step = j.steps?.find((s) => s.id === id);
          expect({ job, name, step: step?.id }).toEqual({ job, name, step: id });
          const action = ourAction(step?.uses);
          if (action)
            expect({ job, name, declared: output! in loadAction(action).outputs }).toEqual({
              job,
              name,
              declared: true,
            });
        }
      }
    }
  });

  test('needs.X.outputs.Y names a direct need and one of its outputs', () => {
    for (const [job, j] of Object.entries(workflow.jobs)) {
      const text = JSON.stringify(j);
      for (const [, dep, output] of text.matchAll(/needs\.([\w-]+)\.outputs\.([\w-]+)/g)) {
        expect({ job, dep, direct: needsOf(j).includes(dep!) }).toEqual({ job, dep, direct: true });
        const declared = workflow.jobs[dep!]?.outputs ?? {};
        expect({ job, dep, output, declared: output! in declared || !!workflow.jobs[dep!]?.uses }).toEqual({
          job,
          dep,
          output,
          declared: true,
        });
      }
    }
  });

  test('callers of our reusable workflows pass declared inputs and secrets, and every required one', () => {
    for (const [job, j] of Object.entries(workflow.jobs)) {
      const target = j.uses ? REUSABLE[j.uses.replace(/@.*$/, '')] : undefined;
      if (!target) continue;
      const call = loadWorkflow(target).on.workflow_call!;
      const inputs = call.inputs ?? {};
      const secrets = call.secrets ?? {};
      const withKeys = Object.keys(j.with ?? {});
      const secretKeys = j.secrets === 'inherit' ? Object.keys(secrets) : Object.keys(j.secrets ?? {});
      expect({ job, unknown: withKeys.filter((k) => !(k in inputs)) }).toEqual({ job, unknown: [] });
      expect({ job, unknownSecrets: secretKeys.filter((k) => !(k in secrets)) }).toEqual({ job, unknownSecrets: [] });
      const required = (o: Record<string, { required?: boolean }>) => Object.keys(o).filter((k) => o[k]?.required);
      expect({ job, missing: required(inputs).filter((k) => !withKeys.includes(k)) }).toEqual({ job, missing: [] });
      expect({ job, missingSecrets: required(secrets).filter((k) => !secretKeys.includes(k)) }).toEqual({
        job,
        missingSecrets: [],
      });
    }
  });
});

describe('deploy.yml outputs', () => {
  const deploy: Workflow = loadWorkflow('.github/workflows/deploy.yml');
  const outputs = deploy.on.workflow_call!.outputs!;

  test('revision, verdict and rolled-back are wired to job outputs that exist', () => {
    expect(Object.keys(outputs).sort()).toEqual(['revision', 'rolled-back', 'verdict']);
    for (const [name, { value }] of Object.entries(outputs)) {
      const refs = [...value.matchAll(/jobs\.([\w-]+)\.outputs\.([\w-]+)/g)];
      expect({ name, refs: refs.length }).toEqual({ name, refs: 1 });
      const [, job, output] = refs[0]!;
      expect({ name, wired: output! in (deploy.jobs[job!]?.outputs ?? {}) }).toEqual({ name, wired: true });
    }
    expect(outputs.revision!.value).toContain('jobs.promote.outputs.revision');
    expect(outputs.verdict!.value).toContain('jobs.validate.outputs.verdict');
    expect(deploy.jobs.promote!.outputs!.revision).toBe('${{ steps.promote.outputs.revision }}');
    expect(deploy.jobs.validate!.outputs!.verdict).toBe('${{ steps.validate.outputs.verdict }}');
  });

  test('the monitoring window reports its verdict instead of failing, the canary pass fails on rollback', () => {
    const step = (job: string) => deploy.jobs[job]!.steps!.find((s) => ourAction(s.uses) === 'validate')!;
    expect(step('validate').with!['fail-on-rollback']).toBe('false');
    expect(step('validate-canary').with!['fail-on-rollback']).toBeUndefined(); // default true
    expect(step('validate-canary').with!.pod).toBe('canary');
    expect(String(step('validate-canary').with!.duration)).toBe('0');
  });

  test('the traffic router reaches canary and promote; validate-canary measures the share only with gateway-url', () => {
    const inputs = deploy.on.workflow_call!.inputs!;
    const steps = (job: string) => deploy.jobs[job]!.steps!;
    for (const job of ['canary', 'promote']) {
      const step = steps(job).find((s) => ourAction(s.uses) === 'canary')!;
      for (const name of ['traffic-router', 'http-route', 'canary-weight', 'drain-timeout']) {
        expect({ job, name, declared: name in inputs }).toEqual({ job, name, declared: true });
        expect({ job, name, passed: step.with![name] }).toEqual({ job, name, passed: `\${{ inputs.${name} }}` });
      }
    }
    expect(inputs['traffic-router']!.default).toBe('none'); // today's behaviour when unset
    expect(deploy.jobs.canary!.outputs!['canary-weight']).toBe('${{ steps.canary.outputs.canary-weight }}');
    const [green, share] = steps('validate-canary');
    expect(green!.with!.pod).toBe('canary'); // the green pod alone first, as before
    expect(green!.if).toBeUndefined();
    expect(share!.if).toBe("inputs.gateway-url != ''");
    expect(share!.with).toMatchObject({
      url: '${{ inputs.gateway-url }}',
      checks: 'traffic-share',
      'canary-weight': '${{ needs.canary.outputs.canary-weight }}',
      'canary-version': '${{ inputs.version }}',
    });
    // a url target with its own checks needs no cluster credential: the step gets none
    expect(share!.with!.kubeconfig).toBeUndefined();
  });

  test('our actions are referenced as veloz/deploy-actions/<name>@v1', () => {
    for (const j of Object.values(deploy.jobs)) {
      for (const s of j.steps ?? []) {
        if (ourAction(s.uses))
          expect(s.uses).toMatch(/^veloz\/deploy-actions\/(preflight|canary|validate|rollback)@v1$/);
      }
    }
  });
});
