/**
 * Simulates a workflow run over the `needs:` graph: every running job ends success, failure or
 * cancelled (with each output variant), a run may be cancelled between jobs, and each job's `if:`
 * is evaluated the way GitHub does. Yields every reachable run.
 */
import { evaluateJobIf, type Value } from './expressions';
import { needsOf, type Job } from './workflows';

export type Result = 'success' | 'failure' | 'skipped' | 'cancelled';

export interface JobState {
  result: Result;
  outputs: Record<string, string>;
}

export interface Run {
  jobs: Record<string, JobState>;
  /** The job during or before which the run was cancelled, if it was. */
  cancelledAt?: string;
  /** `before` when the cancel came before the job started, `during` when it ended it. */
  cancelledWhen?: 'before' | 'during';
}

/** Output variants of a job that ran, by result: the outputs other jobs route on. */
export type OutputVariants = (job: string, result: 'success' | 'failure' | 'cancelled') => Record<string, string>[];

export function topologicalOrder(jobs: Record<string, Job>): string[] {
  const order: string[] = [];
  const visit = (name: string, path: string[]): void => {
    if (order.includes(name)) return;
    if (path.includes(name)) throw new Error(`needs cycle: ${[...path, name].join(' → ')}`);
    const job = jobs[name];
    if (!job) throw new Error(`unknown job ${name} in needs`);
    for (const dep of needsOf(job)) visit(dep, [...path, name]);
    order.push(name);
  };
  for (const name of Object.keys(jobs)) visit(name, []);
  return order;
}

export function ancestors(jobs: Record<string, Job>, name: string): string[] {
  const seen = new Set<string>();
  const walk = (n: string): void => {
    for (const dep of needsOf(jobs[n] ?? {})) {
      if (!seen.has(dep)) {
        seen.add(dep);
        walk(dep);
      }
    }
  };
  walk(name);
  return [...seen];
}

export function* simulate(
  jobs: Record<string, Job>,
  inputs: Record<string, Value>,
  variants: OutputVariants,
): Generator<Run> {
  const order = topologicalOrder(jobs);
  function* step(i: number, run: Run): Generator<Run> {
    const name = order[i];
    if (name === undefined) {
      yield run;
      return;
    }
    // The run may be cancelled just before this job would start.
    if (!run.cancelledAt) yield* decide(i, name, { ...run, cancelledAt: name, cancelledWhen: 'before' });
    yield* decide(i, name, run);
  }
  function* decide(i: number, name: string, run: Run): Generator<Run> {
    const job = jobs[name]!;
    const up = ancestors(jobs, name).map((a) => run.jobs[a]!.result);
    const cancelled = run.cancelledAt !== undefined;
    const status = {
      success: () => !cancelled && up.every((r) => r === 'success'),
      failure: () => up.includes('failure'),
      cancelled: () => cancelled,
    };
    const needs: Record<string, Value> = {};
    for (const dep of needsOf(job)) needs[dep] = { result: run.jobs[dep]!.result, outputs: run.jobs[dep]!.outputs };
    if (!evaluateJobIf(job.if, { needs, inputs }, status)) {
      yield* step(i + 1, { ...run, jobs: { ...run.jobs, [name]: { result: 'skipped', outputs: {} } } });
      return;
    }
    for (const result of ['success', 'failure', 'cancelled'] as const) {
      if (result === 'cancelled' && cancelled) continue;
      for (const outputs of variants(name, result)) {
        const next: Run = { ...run, jobs: { ...run.jobs, [name]: { result, outputs } } };
        if (result === 'cancelled') Object.assign(next, { cancelledAt: name, cancelledWhen: 'during' });
        yield* step(i + 1, next);
      }
    }
  }
  yield* step(0, { jobs: {} });
}
