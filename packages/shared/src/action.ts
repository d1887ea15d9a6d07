/** The @actions/core adapter of the action contract (contract.ts): inputs, log, outputs, summary, exit code. */
import * as core from '@actions/core';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cancelledMessage, exitOnCancel } from './cancel';
import { describeError } from './checks';
import { systemClock } from './clock';
import type { ActionDefinition, Logger, RunInfo, RunResult } from './contract';
import { guardStream } from './guard-stream';
import { freeze, readInputs } from './inputs';
import { renderJson, renderLogLines, renderSummary, type ActionName } from './report';
import { redact, secretRegistry } from './secrets';

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

const coreLogger: Logger = {
  info: (m) => core.info(redact(m)),
  warning: (m) => core.warning(redact(m)),
  debug: (m) => core.debug(redact(m)),
  group: (name, fn) => core.group(redact(name), fn),
};

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
  onCancel();

  try {
    const run = await definition.load();
    const tempDir = process.env.RUNNER_TEMP || tmpdir();
    const result = await run(settings, { clock: systemClock, log: coreLogger, workflowRun: runInfoFromEnv(), tempDir });
    await publish(definition.name, result, tempDir);
  } catch (error) {
    core.debug(redact(error instanceof Error && error.stack ? error.stack : String(error)));
    core.setFailed(redact(`${definition.name} stopped unexpectedly: ${describeError(error)}`));
  }
}

/** A cancelled job: helm interrupted, the release lock given back, the step failed saying so. */
function onCancel(): void {
  exitOnCancel((signal, gaveLockBack) => core.setFailed(cancelledMessage(signal, gaveLockBack, 're-run this step')));
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
