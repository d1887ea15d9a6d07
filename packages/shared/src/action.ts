import * as core from '@actions/core';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeError } from './checks';
import { systemClock, type Clock } from './clock';
import { freeze, readInputs, type InputReader } from './inputs';
import { renderJson, renderLogLines, renderSummary, type ActionName, type Report } from './report';
import { redact, secretRegistry } from './secrets';

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
  run: RunInfo;
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

export function runInfoFromEnv(env: NodeJS.ProcessEnv = process.env): RunInfo {
  const serverUrl = env.GITHUB_SERVER_URL || 'https://github.com';
  const repository = env.GITHUB_REPOSITORY || 'local/run';
  const runId = env.GITHUB_RUN_ID || '0';
  return {
    repository,
    runId,
    runAttempt: env.GITHUB_RUN_ATTEMPT || '1',
    runUrl: `${serverUrl}/${repository}/actions/runs/${runId}`,
    actor: env.GITHUB_ACTOR || 'unknown',
    sha: env.GITHUB_SHA || '',
    ref: env.GITHUB_REF || '',
    workflow: env.GITHUB_WORKFLOW || '',
    job: env.GITHUB_JOB || '',
    serverUrl,
    apiUrl: env.GITHUB_API_URL || 'https://api.github.com',
  };
}

export const coreLogger: Logger = {
  info: (m) => core.info(redact(m)),
  warning: (m) => core.warning(redact(m)),
  debug: (m) => core.debug(redact(m)),
  group: (name, fn) => core.group(redact(name), fn),
};

/**
 * The last line of the one redaction pass: whatever reaches stdout or stderr (a library's own
 * console output, an uncaught error) is redacted line by line; only `::add-mask::` lines, which
 * must carry the secret to the runner, pass as they are.
 */
export function guardStream(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) return write(chunk, ...rest);
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const safe = text
      .split('\n')
      .map((line) => (line.startsWith('::add-mask::') ? line : redact(line)))
      .join('\n');
    return write(safe, ...rest);
  }) as typeof stream.write;
}

/** The whole life of one action step: inputs -> settings -> run -> outputs, summary, report, exit code. */
export async function runAction<S>(definition: ActionDefinition<S>): Promise<void> {
  secretRegistry.setMasker((secret) => core.setSecret(secret));
  guardStream(process.stdout);
  guardStream(process.stderr);
  const mask = (secret: string): void => secretRegistry.add(secret);
  const read = await readInputs(definition.parse, (name) => core.getInput(name), mask);
  if (read.errors.length > 0 || read.settings === undefined) {
    // One `::error::` per bad input (each names its input); the last one also fails the step (exit 1).
    const messages = read.errors.map((error) => redact(error.message));
    for (const message of messages.slice(0, -1)) core.error(message);
    core.setFailed(messages.at(-1) ?? 'the inputs could not be read');
    return;
  }
  const settings = freeze(read.settings);

  try {
    const run = await definition.load();
    const tempDir = process.env.RUNNER_TEMP || tmpdir();
    const result = await run(settings, { clock: systemClock, log: coreLogger, run: runInfoFromEnv(), tempDir });
    await publish(definition.name, result, tempDir);
  } catch (error) {
    core.debug(redact(error instanceof Error && error.stack ? error.stack : String(error)));
    core.setFailed(redact(`${definition.name} stopped unexpectedly: ${describeError(error)}`));
  }
}

/** Outputs, summary, report file and annotations: every channel rendered from the redacted result. */
async function publish(action: ActionName, raw: RunResult, tempDir: string): Promise<void> {
  const result = secretRegistry.redactDeep(raw);
  const dir = join(tempDir, 'veloz-reports');
  await mkdir(dir, { recursive: true });
  const attempt = process.env.GITHUB_RUN_ATTEMPT || '1';
  const reportPath = join(dir, `${action}-${process.env.GITHUB_JOB || 'job'}-${attempt}-${Date.now()}.json`);
  await writeFile(reportPath, renderJson(result.report));

  for (const line of renderLogLines(result.report)) core.info(line);
  for (const [name, value] of Object.entries({ ...result.outputs, report: reportPath })) core.setOutput(name, value);
  if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(renderSummary(result.report)).write();
  for (const warning of result.warnings ?? []) core.warning(warning);
  if (result.failure) core.setFailed(result.failure);
}
