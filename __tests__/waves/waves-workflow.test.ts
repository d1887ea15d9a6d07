/**
 * waves.yml as written (issue 29 items 1–2), through the workflow simulator the deploy.yml tests use:
 * the generated file is current; each wave job calls deploy.yml once per cluster with every input;
 * waves run in order, a wave starts only when the one before succeeded; a failing wave 2 stops wave 3
 * and, with rollback-all, rolls back what this run promoted; `stop` rolls back nothing more; the
 * summary always runs; two releases in flight queue like deploys (concurrency groups).
 */
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { MAX_WAVES } from '../../cli/src/waves/plan';
import { wavesWorkflow } from '../../scripts/waves-workflow';
import { modelWorkflow, Repository } from '../workflows/support/concurrency';
import { simulate, type Run } from '../workflows/support/graph';
import { loadWorkflow, needsOf, type Workflow } from '../workflows/support/workflows';

const FILE = '.github/workflows/waves.yml';
const waves = loadWorkflow(FILE);
const deploy = loadWorkflow('.github/workflows/deploy.yml');
const WAVE_JOBS = Array.from({ length: MAX_WAVES }, (_, i) => `wave-${i + 1}`);

function planVariant(count: number, onFailure: string): Record<string, string> {
  const out: Record<string, string> = { count: String(count), 'on-failure': onFailure };
  for (let n = 1; n <= MAX_WAVES; n++) out[`wave-${n}`] = n <= count ? `{"clusters":["c${n}"]}` : '';
  return out;
}

function variants(job: string, result: 'success' | 'failure' | 'cancelled'): Record<string, string>[] {
  if (job === 'plan' && result === 'success')
    return [1, 2, 3, 4].flatMap((c) => [planVariant(c, 'rollback-all'), planVariant(c, 'stop')]);
  if (job === 'outcome' && result === 'success')
    return [
      { 'promoted-count': '0', promoted: '[]' },
      { 'promoted-count': '2', promoted: '["c1","c2"]' },
    ];
  return [{}];
}

const runs: Run[] = [...simulate(waves.jobs, { release: 'veloz', version: '1.2.0' }, variants)];
const ran = (run: Run, job: string): boolean => run.jobs[job] !== undefined && run.jobs[job].result !== 'skipped';
const count = (run: Run): number => Number(run.jobs.plan?.outputs.count ?? 0);

describe('waves.yml is generated from deploy.yml', () => {
  test('the committed file is what scripts/waves-workflow.ts writes (npm run waves-workflow)', async () => {
    expect(readFileSync(FILE, 'utf8')).toBe(await wavesWorkflow(readFileSync('.github/workflows/deploy.yml', 'utf8')));
  });

  test("deploy.yml's inputs and secrets, plus waves; the environment comes from the matrix", () => {
    const call = deploy.on.workflow_call!;
    const mine = waves.on.workflow_call!;
    const expected = Object.keys(call.inputs!).filter((n) => n !== 'environment');
    expect(Object.keys(mine.inputs!)).toEqual(['waves', ...expected]);
    for (const name of expected) {
      const spec = mine.inputs![name]!;
      expect({ name, default: spec.default, required: spec.required }).toEqual({
        name,
        default: call.inputs![name]!.default,
        required: call.inputs![name]!.required,
      });
    }
    expect(mine.inputs!.waves).toMatchObject({ type: 'string', required: true });
    expect(Object.keys(mine.secrets!)).toEqual(Object.keys(call.secrets!));
  });

  test.each(WAVE_JOBS)('%s calls deploy.yml@v1 per cluster with every input and secret, never fail-fast', (name) => {
    const job = waves.jobs[name]! as Workflow['jobs'][string] & { strategy: Record<string, unknown> };
    expect(job.uses).toBe('veloz/deploy-actions/.github/workflows/deploy.yml@v1');
    expect(job.with!.environment).toBe('${{ matrix.environment }}');
    for (const input of Object.keys(deploy.on.workflow_call!.inputs!).filter((n) => n !== 'environment'))
      expect({ input, value: job.with![input] }).toEqual({ input, value: `\${{ inputs.${input} }}` });
    for (const secret of Object.keys(deploy.on.workflow_call!.secrets!))
      expect((job.secrets as Record<string, string>)[secret]).toBe(`\${{ secrets.${secret} }}`);
    expect(job.strategy['fail-fast']).toBe(false);
    expect(job.strategy.matrix).toEqual({ environment: `\${{ fromJSON(needs.plan.outputs.${name}).clusters }}` });
    expect(String(job.strategy['max-parallel'])).toContain(`fromJSON(needs.plan.outputs.${name})`);
    const n = Number(name.split('-')[1]);
    expect(needsOf(job)).toEqual(n === 1 ? ['plan'] : ['plan', `wave-${n - 1}`]);
  });

  test('least privilege: contents read at the top; only the callers and read-back jobs ask for more', () => {
    expect(waves.permissions).toEqual({ contents: 'read' });
    expect(waves.jobs.plan!.permissions).toBeUndefined();
    expect(waves.jobs.outcome!.permissions).toEqual({ contents: 'read', deployments: 'read' });
    expect(waves.jobs.summary!.permissions).toEqual({ contents: 'read', deployments: 'read' });
    expect(waves.jobs['rollback-all']!.uses).toBe('veloz/deploy-actions/.github/workflows/rollback.yml@v1');
    // the rollback-all mark leads the reason: the deployment status keeps its first 140 characters
    expect(String(waves.jobs['rollback-all']!.with!.reason)).toMatch(/^rollback-all, /);
  });
});

describe('the wave graph, over every reachable run', () => {
  test('the enumeration covers every wave count, on-failure and wave result', () => {
    expect(runs.length).toBeGreaterThan(200);
    for (const job of [...WAVE_JOBS, 'outcome', 'rollback-all', 'summary'])
      for (const result of ['success', 'failure', 'skipped'])
        expect({ job, result, seen: runs.some((r) => r.jobs[job]?.result === result) }).toEqual({
          job,
          result,
          seen: true,
        });
  });

  test('waves in order: wave N runs exactly when the plan has it and wave N-1 succeeded, and nobody cancelled', () => {
    for (const run of runs) {
      for (let n = 1; n <= MAX_WAVES; n++) {
        const previous =
          n === 1 ? run.jobs.plan?.result === 'success' : run.jobs[`wave-${n - 1}`]?.result === 'success';
        const cancelledBefore =
          run.cancelledAt !== undefined &&
          ['plan', ...WAVE_JOBS.slice(0, n)].indexOf(run.cancelledAt) >= 0 &&
          !(run.cancelledAt === `wave-${n}` && run.cancelledWhen === 'during');
        const expected = previous && count(run) >= n && !cancelledBefore;
        expect({ n, run: describeRun(run), ran: ran(run, `wave-${n}`) }).toEqual({
          n,
          run: describeRun(run),
          ran: expected,
        });
      }
    }
  });

  test('a failing wave 2 stops wave 3 and, with rollback-all, rolls back what was promoted', () => {
    const failing = runs.filter(
      (r) =>
        r.cancelledAt === undefined &&
        count(r) === 3 &&
        r.jobs['wave-1']?.result === 'success' &&
        r.jobs['wave-2']?.result === 'failure',
    );
    expect(failing.length).toBeGreaterThan(0);
    for (const run of failing) {
      expect(ran(run, 'wave-3')).toBe(false);
      expect(ran(run, 'wave-4')).toBe(false);
      const all = run.jobs.plan!.outputs['on-failure'] === 'rollback-all';
      expect(ran(run, 'outcome')).toBe(all);
      const promoted = run.jobs.outcome?.result === 'success' && run.jobs.outcome.outputs['promoted-count'] !== '0';
      expect(ran(run, 'rollback-all')).toBe(all && promoted);
      expect(ran(run, 'summary')).toBe(true);
    }
    expect(failing.some((r) => ran(r, 'rollback-all'))).toBe(true);
    expect(failing.some((r) => !ran(r, 'outcome'))).toBe(true); // on-failure: stop
  });

  test('a release where every wave passed rolls nothing back; a cancelled run rolls nothing back', () => {
    const good = runs.filter(
      (r) => r.cancelledAt === undefined && WAVE_JOBS.slice(0, count(r)).every((w) => r.jobs[w]?.result === 'success'),
    );
    expect(good.length).toBeGreaterThan(0);
    for (const run of good) {
      expect(ran(run, 'outcome')).toBe(false);
      expect(ran(run, 'rollback-all')).toBe(false);
      expect(ran(run, 'summary')).toBe(run.jobs.plan?.result === 'success');
    }
    const cancelled = runs.filter(
      (r) => r.cancelledAt !== undefined && r.cancelledAt !== 'rollback-all' && r.cancelledAt !== 'summary',
    );
    for (const run of cancelled.filter((r) => !ran(r, 'outcome'))) expect(ran(run, 'rollback-all')).toBe(false);
  });

  test('a bad waves input (plan fails) deploys nothing and writes no summary', () => {
    const bad = runs.filter((r) => r.jobs.plan?.result === 'failure');
    expect(bad.length).toBeGreaterThan(0);
    for (const run of bad)
      for (const job of [...WAVE_JOBS, 'outcome', 'rollback-all', 'summary']) expect(ran(run, job)).toBe(false);
  });
});

describe('two releases in flight (GitHub concurrency groups over the real files)', () => {
  const release = (version: string, name = 'veloz') =>
    modelWorkflow(FILE, waves, { release: name, version, waves: 'waves: [{ clusters: [production-eu] }]' });
  const cluster = (environment: string) =>
    modelWorkflow('.github/workflows/deploy.yml', deploy, { environment, version: '1.2.0' });

  test('one wave release of a Helm release at a time; the newest pending one wins; none running is cancelled', () => {
    const repo = new Repository(new Set(['production-eu']));
    expect(repo.trigger('A', release('1.2.0'))).toBe('running');
    expect(repo.trigger('B', release('1.2.1'))).toBe('pending');
    expect(repo.trigger('C', release('1.2.2'))).toBe('pending');
    expect(repo.state('B')).toBe('cancelled');
    expect(repo.state('A')).toBe('running');
    // another Helm release in the same repository is not held up
    expect(repo.trigger('X', release('3.0.0', 'pricing'))).toBe('running');
    expect(repo.finishRun('A')).toBe('C');
    expect(repo.state('C')).toBe('running');
  });

  test("a cluster's deploy inside a wave and a single-cluster deploy of it never run at once", () => {
    const repo = new Repository(new Set(['production-eu']));
    expect(repo.trigger('A', release('1.2.0'))).toBe('running');
    // A's wave-1 leg for production-eu is deploy.yml with that environment: its own group
    expect(repo.trigger('A/wave-1/production-eu', cluster('production-eu'))).toBe('running');
    expect(repo.trigger('D', cluster('production-eu'))).toBe('pending');
    expect(repo.trigger('A/wave-1/production-us', cluster('production-us'))).toBe('running');
    expect(repo.finishRun('A/wave-1/production-eu')).toBe('D');
    expect(repo.state('A')).toBe('running');
  });

  test('the groups of waves.yml and deploy.yml never coincide (a call waiting on its own caller would hang)', () => {
    const w = release('1.2.0').group!.group.toLowerCase();
    for (const env of ['veloz', 'waves-veloz', 'production'])
      expect(cluster(env).group!.group.toLowerCase()).not.toBe(w);
  });
});

function describeRun(run: Run): string {
  const parts = Object.entries(run.jobs).map(([job, s]) => `${job}=${s.result}`);
  if (run.cancelledAt) parts.push(`cancelled ${run.cancelledWhen} ${run.cancelledAt}`);
  return parts.join(' ');
}
