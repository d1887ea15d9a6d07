/**
 * The step runner canary and rollback are written on: an action is a list of named steps, like the
 * runbook's numbered ones. The runner times each, reports it, checks before each one that the run may
 * still write (the release lock), and on a failure stops there, marks what did not run, and says what
 * state things were left in and the next command to run.
 */
import type { RunContext, RunResult } from './contract';
import { describeError } from './checks';
import { deliveriesFor, type NotifyRoutes } from './records/routes';
import { postNotification } from './records/webhook';
import { emptyReport, type ActionName, type Report, type Step as ReportStep, type StepStatus } from './report';

/** An expected failure: the headline for the on-call engineer, and what to run next. */
export class StepFailure extends Error {
  constructor(
    message: string,
    readonly next: readonly string[] = [],
  ) {
    super(message);
    this.name = 'StepFailure';
  }
}

/** Returned by a step to end the pipeline early with success (e.g. a re-run finding the work done). */
export class Finished {
  constructor(readonly headline: string) {}
}

export interface Step<S> {
  /** As the report and the log group show it; a function when it names something a step found. */
  name: string | ((state: S) => string);
  /** The step runs only when this holds; otherwise it is left out of the report. */
  when?: (state: S) => boolean;
  /** Bookkeeping steps (reading state, records) are timed and logged but not listed in the report. */
  quiet?: boolean;
  run(state: S): Promise<void | Finished>;
}

interface StepHooks {
  /** Called before every step: throws when the run may no longer write (lock lost). */
  beforeStep?(next: string): void | Promise<void>;
  /** What a failure that is not a StepFailure means for the engineer (state left, next command). */
  explain?(error: unknown, step: string): { message: string; next: string[] };
  /** Runs after a failure, before the result is built (notifications, GitHub statuses). */
  onFailure?(message: string): Promise<void>;
}

/** The report, outputs, warnings and notifications one action run accumulates. */
export class ActionRun {
  readonly report: Report;
  readonly outputs: Record<string, string> = {};
  readonly warnings: string[] = [];
  readonly started: number;

  constructor(
    action: ActionName,
    title: string,
    readonly ctx: RunContext,
    private readonly notifyWebhook?: string,
    /** §5.1–5.2 routing by notification kind; channels without a route fall back to notifyWebhook. */
    private readonly notifyRoutes: NotifyRoutes = {},
  ) {
    this.started = ctx.clock.now();
    this.report = emptyReport(action, title, new Date(this.started));
  }

  fact(label: string, value: string): void {
    this.report.facts.push({ label, value });
  }

  /** Records the §5.4 text in the report and posts it; a chat outage is a warning, never a failure. */
  async notify(text: string): Promise<void> {
    const deliveries = deliveriesFor(text, this.notifyRoutes, this.notifyWebhook);
    this.report.notifications.push(deliveries.length === 1 ? deliveries[0]!.text : text);
    for (const d of deliveries) {
      const sent = await postNotification(d.url, d.text, this.ctx.clock);
      if (sent.ok) continue;
      const to = Object.keys(this.notifyRoutes).length > 0 ? ` to ${d.channels.join(' + ')}` : '';
      this.warnings.push(`Chat notification${to} not delivered after ${sent.attempts} attempts: ${sent.error}.`);
    }
  }

  /** Adds a row to the steps table for work done inside a step (a restore command, say). */
  substep(name: string, status: StepStatus, durationMs?: number, detail?: string): void {
    this.report.steps.push({ name: `  ${name}`, status, durationMs, detail });
  }

  /** Sets what the running step's row says (its finding, or `failed` for a step that goes on). */
  note(detail: string, status?: StepStatus): void {
    if (!this.current) return;
    this.current.detail = detail;
    if (status) this.current.status = status;
  }

  /** The running step's row; steps push it when they start, so its substeps follow it. */
  current?: ReportStep;

  result(failure?: string, next: readonly string[] = []): RunResult {
    this.report.finishedAt = new Date(this.ctx.clock.now()).toISOString();
    this.report.status = failure ? 'failure' : 'success';
    if (failure) this.report.headline = failure;
    this.report.nextSteps.push(...next);
    return { report: this.report, outputs: this.outputs, warnings: this.warnings, failure };
  }
}

/**
 * Runs the steps in order on one state object. A step that throws stops the pipeline: the failing
 * step is marked failed with its cause, every later reported step `not-run`, and the result carries
 * the failure's message and next commands. The headline on success is `state.headline` when set.
 */
export async function runSteps<S extends { headline?: string }>(
  run: ActionRun,
  steps: readonly Step<S>[],
  state: S,
  hooks: StepHooks = {},
): Promise<RunResult> {
  const { clock, log } = run.ctx;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    if (step.when && !step.when(state)) continue;
    const name = typeof step.name === 'string' ? step.name : step.name(state);
    const t0 = clock.now();
    const row: ReportStep = { name, status: 'not-run' };
    if (!step.quiet) run.report.steps.push(row);
    run.current = step.quiet ? undefined : row;
    try {
      await hooks.beforeStep?.(name);
      const outcome = await log.group(name, () => step.run(state));
      if (row.status === 'not-run') row.status = 'done';
      row.durationMs = clock.now() - t0;
      if (outcome instanceof Finished) return succeed(run, outcome.headline);
    } catch (error) {
      const { message, next } =
        error instanceof StepFailure
          ? { message: error.message, next: [...error.next] }
          : (hooks.explain?.(error, name) ?? { message: `${name} failed: ${describeError(error)}`, next: [] });
      Object.assign(row, {
        status: 'failed',
        durationMs: clock.now() - t0,
        detail: row.detail ?? describeError(error),
      });
      markNotRun(run, steps, i + 1, state);
      await hooks.onFailure?.(message).catch((e: unknown) => run.warnings.push(describeError(e)));
      return run.result(message, next);
    } finally {
      run.current = undefined;
    }
  }
  return succeed(run, state.headline ?? '');
}

function succeed(run: ActionRun, headline: string): RunResult {
  run.report.headline = headline;
  return run.result();
}

function markNotRun<S>(run: ActionRun, steps: readonly Step<S>[], from: number, state: S): void {
  for (const step of steps.slice(from)) {
    if (step.quiet) continue;
    let name: string;
    try {
      if (step.when && !step.when(state)) continue;
      name = typeof step.name === 'string' ? step.name : step.name(state);
    } catch {
      continue; // a name built from state the failed step never produced
    }
    run.report.steps.push({ name, status: 'not-run' });
  }
}
