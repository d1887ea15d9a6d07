/**
 * deploy.yml's job graph, evaluated: every reachable run (each job success, failure or cancelled,
 * validate verdicts pass/warn/rollback, cancellation before or during any job) and every combination
 * of the rollback job's `needs` results. Proves rollback runs exactly when the runbook wants it.
 */
import { describe, expect, test } from '@jest/globals';
import { rollbackRuns, type Needs } from '../../scripts/demo/pipeline';
import { evaluateJobIf, parseExpression, type Value } from './support/expressions';
import { simulate, topologicalOrder, type Result, type Run } from './support/graph';
import { loadWorkflow, needsOf } from './support/workflows';

const workflow = loadWorkflow('.github/workflows/deploy.yml');
const jobs = workflow.jobs;
const INPUTS = { environment: 'production', version: '1.2.0' };

function variants(job: string, result: 'success' | 'failure' | 'cancelled'): Record<string, string>[] {
  if (job === 'validate')
    return result === 'success'
      ? [{ verdict: 'pass' }, { verdict: 'warn' }, { verdict: 'rollback' }]
      : [{}, { verdict: 'rollback' }];
  // fail-on-rollback (default true) turns the canary's rollback verdict into a failed job.
  if (job === 'validate-canary')
    return result === 'success' ? [{ verdict: 'pass' }, { verdict: 'warn' }] : [{}, { verdict: 'rollback' }];
  if (job === 'preflight' && result === 'success') return [{ ready: 'true', 'current-revision': '3' }];
  return [{}];
}

const runs: Run[] = [...simulate(jobs, INPUTS, variants)];
const order = topologicalOrder(jobs);

/** The runbook's rule, written independently of the workflow. */
function shouldRollBack(run: Run): boolean {
  const r = (job: string): Result | undefined => run.jobs[job]?.result;
  const deployedAndBroken =
    r('canary') === 'failure' ||
    r('validate-canary') === 'failure' ||
    r('promote') === 'failure' ||
    r('validate') === 'failure' ||
    run.jobs.validate?.outputs.verdict === 'rollback';
  // A cancel that lands while the rollback itself runs happened after the decision to run it.
  const cancelledFirst =
    run.cancelledAt !== undefined && !(run.cancelledAt === 'rollback' && run.cancelledWhen === 'during');
  return r('preflight') === 'success' && !cancelledFirst && deployedAndBroken;
}

const ran = (run: Run, job: string): boolean => run.jobs[job] !== undefined && run.jobs[job].result !== 'skipped';

describe('deploy.yml job graph', () => {
  test('chain: preflight → canary → validate-canary → promote → validate → rollback', () => {
    expect(topologicalOrder(jobs)).toEqual([
      'preflight',
      'canary',
      'validate-canary',
      'promote',
      'validate',
      'rollback',
    ]);
    expect(needsOf(jobs.canary!)).toEqual(['preflight']);
    expect(needsOf(jobs['validate-canary']!)).toEqual(['preflight', 'canary']);
    expect(needsOf(jobs.promote!)).toEqual(['canary', 'validate-canary']);
    expect(needsOf(jobs.validate!)).toEqual(['preflight', 'promote']);
    expect(needsOf(jobs.rollback!).sort()).toEqual(['canary', 'preflight', 'promote', 'validate', 'validate-canary']);
  });

  test('the enumeration covers every job outcome and verdict', () => {
    expect(runs.length).toBeGreaterThan(50);
    for (const job of Object.keys(jobs)) {
      const seen = new Set<string | undefined>(runs.map((r) => r.jobs[job]?.result));
      // Even preflight is skipped when the run is cancelled while it waits for the concurrency group.
      for (const result of ['success', 'failure', 'cancelled', 'skipped'])
        expect({ job, result, seen: seen.has(result) }).toEqual({ job, result, seen: true });
    }
    const verdicts = new Set(runs.map((r) => r.jobs.validate?.outputs.verdict));
    expect([...verdicts].filter(Boolean).sort()).toEqual(['pass', 'rollback', 'warn']);
  });

  test('rollback runs exactly when the runbook wants it, in every reachable run', () => {
    const wrong = runs.filter((run) => ran(run, 'rollback') !== shouldRollBack(run));
    expect(wrong.map(describeRun)).toEqual([]);
    // both sides are exercised
    expect(runs.filter((r) => ran(r, 'rollback')).length).toBeGreaterThan(10);
    expect(runs.filter((r) => !ran(r, 'rollback')).length).toBeGreaterThan(10);
  });

  test('never after a failed preflight: nothing was deployed', () => {
    const failed = runs.filter((r) => r.jobs.preflight?.result === 'failure');
    expect(failed.length).toBeGreaterThan(0);
    for (const run of failed) {
      expect(ran(run, 'canary')).toBe(false);
      expect(ran(run, 'rollback')).toBe(false);
    }
  });

  test('never when the run was cancelled before the canary', () => {
    const early = runs.filter(
      (r) => r.cancelledAt === 'preflight' || (r.cancelledAt === 'canary' && r.cancelledWhen === 'before'),
    );
    expect(early.length).toBeGreaterThan(0);
    for (const run of early) {
      expect(ran(run, 'canary')).toBe(false);
      expect(ran(run, 'rollback')).toBe(false);
    }
  });

  test('each deploy job runs only when everything before it succeeded and nobody cancelled', () => {
    const chain = ['preflight', 'canary', 'validate-canary', 'promote', 'validate'];
    for (const run of runs) {
      for (const [i, job] of chain.entries()) {
        const before = chain.slice(0, i).every((j) => run.jobs[j]?.result === 'success');
        const at = run.cancelledAt === undefined ? -1 : order.indexOf(run.cancelledAt);
        const cancelledBefore = at >= 0 && (at < i || (at === i && run.cancelledWhen === 'before'));
        expect({ run: describeRun(run), job, ran: ran(run, job) }).toEqual({
          run: describeRun(run),
          job,
          ran: before && !cancelledBefore,
        });
      }
    }
  });

  test.each<[string, Partial<Record<string, Result>>, string | undefined, boolean]>([
    [
      'a good release',
      { canary: 'success', 'validate-canary': 'success', promote: 'success', validate: 'success' },
      'pass',
      false,
    ],
    [
      'validate warns',
      { canary: 'success', 'validate-canary': 'success', promote: 'success', validate: 'success' },
      'warn',
      false,
    ],
    [
      'validate decides rollback',
      { canary: 'success', 'validate-canary': 'success', promote: 'success', validate: 'success' },
      'rollback',
      true,
    ],
    [
      'the canary rollout fails',
      { canary: 'failure', 'validate-canary': 'skipped', promote: 'skipped', validate: 'skipped' },
      undefined,
      true,
    ],
    [
      'the green pod fails validation',
      { canary: 'success', 'validate-canary': 'failure', promote: 'skipped', validate: 'skipped' },
      undefined,
      true,
    ],
    [
      'an approver rejects the promotion',
      { canary: 'success', 'validate-canary': 'success', promote: 'failure', validate: 'skipped' },
      undefined,
      true,
    ],
    [
      'the monitoring window errors out',
      { canary: 'success', 'validate-canary': 'success', promote: 'success', validate: 'failure' },
      undefined,
      true,
    ],
  ])('%s', (_name, results, verdict, expected) => {
    const match = runs.find(
      (r) =>
        r.cancelledAt === undefined &&
        r.jobs.preflight?.result === 'success' &&
        Object.entries(results).every(([job, result]) => r.jobs[job]?.result === result) &&
        r.jobs.validate?.outputs.verdict === verdict,
    );
    expect(match).toBeDefined();
    expect(ran(match!, 'rollback')).toBe(expected);
  });
});

describe("the rollback job's if: over every combination of its needs", () => {
  const RESULTS: Result[] = ['success', 'failure', 'skipped', 'cancelled'];
  const upstream = ['preflight', 'canary', 'validate-canary', 'promote', 'validate'];
  const combos: Record<string, Result>[] = upstream.reduce<Record<string, Result>[]>(
    (acc, job) => acc.flatMap((c) => RESULTS.map((r) => ({ ...c, [job]: r }))),
    [{}],
  );

  test('agrees with the runbook rule and with the demo pipeline (scripts/demo/pipeline.ts)', () => {
    expect(combos).toHaveLength(4 ** 5);
    parseExpression(jobs.rollback!.if!); // parses
    let evaluated = 0;
    for (const combo of combos) {
      for (const verdict of ['', 'pass', 'warn', 'rollback']) {
        for (const cancelled of [false, true]) {
          const needs: Record<string, { result: Result; outputs: Record<string, string> }> = Object.fromEntries(
            upstream.map((j) => {
              const outputs: Record<string, string> = j === 'validate' && verdict ? { verdict } : {};
              return [j, { result: combo[j]!, outputs }];
            }),
          );
          const status = {
            success: () => !cancelled && upstream.every((j) => combo[j] === 'success'),
            failure: () => upstream.some((j) => combo[j] === 'failure'),
            cancelled: () => cancelled,
          };
          const actual = evaluateJobIf(jobs.rollback!.if, { needs: needs as Value, inputs: INPUTS }, status);
          const run: Run = { jobs: needs, ...(cancelled ? { cancelledAt: 'validate' } : {}) };
          expect({ combo, verdict, cancelled, runs: actual }).toEqual({
            combo,
            verdict,
            cancelled,
            runs: shouldRollBack(run),
          });
          if (!cancelled) {
            expect({ combo, verdict, demo: rollbackRuns(needs as Needs) }).toEqual({ combo, verdict, demo: actual });
          }
          evaluated++;
        }
      }
    }
    expect(evaluated).toBe(4 ** 5 * 8);
  });
});

function describeRun(run: Run): string {
  const parts = Object.entries(run.jobs).map(
    ([job, s]) => `${job}=${s.result}${s.outputs.verdict ? `(${s.outputs.verdict})` : ''}`,
  );
  if (run.cancelledAt) parts.push(`cancelled ${run.cancelledWhen} ${run.cancelledAt}`);
  return parts.join(' ');
}
