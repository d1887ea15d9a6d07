/**
 * `veloz-deploy waves <plan|outcome|summary>`: the steps of waves.yml, run from this repository's
 * committed bundle at the workflow's own ref. Inputs come from the environment the step sets
 * (VELOZ_WAVES, VELOZ_VERSION, VELOZ_RELEASE, VELOZ_GITHUB_TOKEN), never spliced into a script;
 * outputs go to $GITHUB_OUTPUT, the summary to $GITHUB_STEP_SUMMARY.
 *
 *   plan     validate the waves input (one ::error:: per problem, exit 1) and emit a matrix per wave
 *   outcome  what every cluster did in this run; `promoted`: the matrix rollback-all returns
 *   summary  the release's job summary: a row per cluster and a chart of the waves
 */
import { appendFile } from 'node:fs/promises';
import { runInfoFromEnv } from '@veloz/shared/action';
import { describeError } from '@veloz/shared/checks';
import { githubClient } from '@veloz/shared/records/github';
import { redact, secretRegistry } from '@veloz/shared/secrets';
import { UsageError } from '../flags';
import type { Out } from '../terminal';
import { promotedClusters, readOutcomes } from './outcome';
import { parseWaves, planOutputs, type WavePlan } from './plan';
import { renderWaveSummary } from './summary';

const STEPS = ['plan', 'outcome', 'summary'] as const;

interface WavesIo {
  stdout: Out;
  env: NodeJS.ProcessEnv;
}

export async function waves(step: string | undefined, io: WavesIo): Promise<number> {
  if (!step || !(STEPS as readonly string[]).includes(step))
    throw new UsageError(`'waves ${step ?? ''}': expected waves ${STEPS.join(', waves ')}`);
  const parsed = parseWaves(io.env.VELOZ_WAVES ?? '');
  if (parsed.errors.length > 0) {
    for (const error of parsed.errors) io.stdout.write(`::error title=waves::${escapeCommand(error)}\n`);
    return 1;
  }
  const plan = parsed.plan!;
  if (step === 'plan') {
    await writeOutputs(io, planOutputs(plan));
    io.stdout.write(`${plan.waves.map((w, i) => `wave ${i + 1} (${w.name}): ${w.clusters.join(', ')}`).join('\n')}\n`);
    return 0;
  }
  const token = io.env.VELOZ_GITHUB_TOKEN ?? '';
  if (!token) throw new UsageError('waves outcome and summary read the deployment records: set VELOZ_GITHUB_TOKEN');
  secretRegistry.add(token);
  try {
    return await readBack(step, plan, token, io);
  } catch (error) {
    io.stdout.write(
      `::error title=waves::${escapeCommand(redact(`could not read the deployment records: ${describeError(error)}`))}\n`,
    );
    return 1;
  }
}

async function readBack(step: string, plan: WavePlan, token: string, io: WavesIo): Promise<number> {
  const run = runInfoFromEnv(io.env);
  const target = { version: io.env.VELOZ_VERSION ?? '', release: io.env.VELOZ_RELEASE || 'veloz' };
  const outcomes = await readOutcomes(await githubClient(token, run), run, plan, target);
  if (step === 'outcome') {
    const promoted = promotedClusters(outcomes);
    await writeOutputs(io, { promoted: JSON.stringify(promoted), 'promoted-count': String(promoted.length) });
    for (const o of outcomes) io.stdout.write(`wave ${o.wave} ${o.cluster}: ${o.verdict}\n`);
    return 0;
  }
  const text = renderWaveSummary(plan, outcomes, { version: target.version, runUrl: run.runUrl });
  if (io.env.GITHUB_STEP_SUMMARY) await appendFile(io.env.GITHUB_STEP_SUMMARY, redact(text));
  else io.stdout.write(redact(text));
  return 0;
}

async function writeOutputs(io: WavesIo, outputs: Record<string, string>): Promise<void> {
  const lines = Object.entries(outputs).map(([name, value]) => `${name}=${value}\n`);
  if (io.env.GITHUB_OUTPUT) await appendFile(io.env.GITHUB_OUTPUT, lines.join(''));
  else io.stdout.write(lines.join(''));
}

/** A workflow command's message: %, CR and LF escaped as the runner expects. */
function escapeCommand(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
