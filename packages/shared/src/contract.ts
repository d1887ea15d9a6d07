/**
 * The action contract: what every chapter's logic takes and returns, independent of who runs it.
 * Two adapters run the same `run(settings, context)`: the @actions/core one (action.ts, inside a
 * workflow) and the terminal one (cli/, `veloz-deploy` when GitHub Actions is down).
 */
import type { Clock } from './clock';
import type { InputReader } from './inputs';
import type { ActionName, Report } from './report';

/** What the chapter logic hands back; main turns it into outputs, summary, report file and exit code. */
export interface RunResult {
  report: Report;
  outputs: Record<string, string>;
  /** Set when the step must fail: what failed, where, and the next command to run. */
  failure?: string;
  warnings?: string[];
}

/** Log sink handed to the chapter logic so it never imports @actions/core. */
export interface Logger {
  info(message: string): void;
  warning(message: string): void;
  debug(message: string): void;
  group<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

/** Facts about the workflow run, read from the runner's GITHUB_* variables. */
export interface RunInfo {
  repository: string;
  runId: string;
  runAttempt: string;
  runUrl: string;
  actor: string;
  sha: string;
  ref: string;
  workflow: string;
  job: string;
  serverUrl: string;
  apiUrl: string;
}

export interface RunContext {
  clock: Clock;
  log: Logger;
  /** The GitHub workflow run (job, attempt, actor) this action runs in. */
  workflowRun: RunInfo;
  /** A directory the action may write to (RUNNER_TEMP). */
  tempDir: string;
}

export interface ActionDefinition<S> {
  name: ActionName;
  /**
   * Reads and validates every input. runAction hands it a collecting reader, so every bad input is
   * reported in one run; a cross-field check may still `throw new InputError`.
   */
  parse(reader: InputReader, mask: (secret: string) => void): S | Promise<S>;
  /** Loads the chapter logic lazily, so a bad input never pays for the Kubernetes client. */
  load(): Promise<(settings: Readonly<S>, context: RunContext) => Promise<RunResult>>;
}
