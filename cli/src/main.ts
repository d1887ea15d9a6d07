/**
 * `veloz-deploy`: the terminal adapter of the action contract. It reads flags where the action reads
 * inputs, through the same parsers, then runs the same `run(settings, context)` with a terminal log;
 * the release Lease, the fence and the records are the action's own, with the actor cli:<user>@<host>.
 */
import { tmpdir } from 'node:os';
import { canaryAction } from '../../actions/canary/src/main';
import { preflightAction } from '../../actions/preflight/src/main';
import { rollbackAction } from '../../actions/rollback/src/main';
import { validateAction } from '../../actions/validate/src/main';
import { describeError } from '@veloz/shared/checks';
import { systemClock, type Clock } from '@veloz/shared/clock';
import type { ActionDefinition, RunResult } from '@veloz/shared/contract';
import { freeze, readInputs } from '@veloz/shared/inputs';
import { renderJson } from '@veloz/shared/report';
import { redact, secretRegistry } from '@veloz/shared/secrets';
import { CLI_FLAGS, parseArgs, UsageError, type ParsedArgs } from './flags';
import { commandHelp, USAGE } from './help';
import { kubeconfigContent } from './kubeconfig';
import { loadInputs, type ActionInputs } from './metadata';
import { renderText } from './report-text';
import { status } from './status-command';
import { waves } from './waves/command';
import { cliRunInfo } from './run-info';
import { paintFor, terminalLogger, type Out } from './terminal';

const EXIT = { ok: 0, failed: 1, badInput: 2, rollbackVerdict: 3 } as const;

interface CliIo {
  stdout: Out;
  stderr: Out;
  env: NodeJS.ProcessEnv;
  /** The package root: where <action>/action.yml live. */
  root: string;
  clock?: Clock;
}

const DEFINITIONS: Record<string, ActionDefinition<unknown>> = {
  preflight: preflightAction as ActionDefinition<unknown>,
  canary: canaryAction as ActionDefinition<unknown>,
  validate: validateAction as ActionDefinition<unknown>,
  rollback: rollbackAction as ActionDefinition<unknown>,
};

/** What one command line runs: the action, and the inputs the command itself sets. */
interface Invocation {
  action: string;
  label: string;
  fixed: Record<string, string>;
}

function invocationOf(args: ParsedArgs): Invocation {
  const command = args.command!;
  const what = command === 'plan' ? args.planned! : command;
  const fixed: Record<string, string> = {};
  if (what === 'canary' || what === 'promote') fixed.phase = what;
  if (command === 'plan') fixed.plan = 'true';
  const action = what === 'promote' ? 'canary' : what;
  return { action, label: command === 'plan' ? `plan ${what}` : command, fixed };
}

export async function cli(argv: readonly string[], io: CliIo): Promise<number> {
  const say = (text: string): void => void io.stderr.write(`${redact(text)}\n`);
  try {
    const args = parseArgs(argv);
    if (!args.command) {
      (args.help ? io.stdout : io.stderr).write(`${USAGE}\n`);
      return args.help ? EXIT.ok : EXIT.badInput;
    }
    if (args.command === 'status') return await status(args, io);
    if (args.command === 'waves') return await waves(args.wavesStep, io);
    const call = invocationOf(args);
    const inputs = await loadInputs(io.root, call.action);
    if (args.help) {
      io.stdout.write(commandHelp(call.label, inputs, Object.keys(call.fixed)));
      return EXIT.ok;
    }
    const source = inputSource(args, call, inputs, io.env);
    return await execute(call, source, inputs, args.json, io);
  } catch (error) {
    if (error instanceof UsageError) {
      say(`error: ${error.message}`);
      return EXIT.badInput;
    }
    say(`error: veloz-deploy stopped unexpectedly: ${describeError(error)}`);
    return EXIT.failed;
  }
}

/** Flags checked against the action's inputs; unset inputs take the action.yml default. */
function inputSource(
  args: ParsedArgs,
  call: Invocation,
  inputs: ActionInputs,
  env: NodeJS.ProcessEnv,
): (name: string) => string {
  const values = new Map<string, string>();
  for (const [name, value] of args.flags) {
    if ((CLI_FLAGS as readonly string[]).includes(name)) continue;
    if (!(name in inputs))
      throw new UsageError(`unknown flag --${name} for ${call.label}: see veloz-deploy ${call.label} --help`);
    if (name in call.fixed) throw new UsageError(`--${name} is set by the command (${call.label}): leave it out`);
    values.set(name, value);
  }
  for (const [name, value] of Object.entries(call.fixed)) {
    if (!(name in inputs))
      throw new UsageError(`${call.label} is not available: the ${call.action} action has no '${name}' input`);
    values.set(name, value);
  }
  values.set('kubeconfig', kubeconfigContent(args.flags.get('kubeconfig'), args.flags.get('context'), env));
  const source = (name: string): string => values.get(name) ?? env[envName(name)] ?? inputs[name]?.default ?? '';
  // In a workflow the run's commit is known; from a terminal GitHub needs to be told what to record on.
  if (source('github-token') && !env.GITHUB_SHA && !env.GITHUB_REF)
    throw new UsageError(
      'a GitHub token records deployments on a commit or tag: set GITHUB_SHA or GITHUB_REF (e.g. GITHUB_REF=refs/tags/v1.1.0) and GITHUB_REPOSITORY',
    );
  return source;
}

async function execute(
  call: Invocation,
  source: (name: string) => string,
  inputs: ActionInputs,
  json: boolean,
  io: CliIo,
): Promise<number> {
  const definition = DEFINITIONS[call.action]!;
  const read = await readInputs(definition.parse, source, (secret) => secretRegistry.add(secret));
  if (read.errors.length > 0 || read.settings === undefined) {
    // The action's own messages, one per bad input, as its `::error::` lines say them.
    for (const error of read.errors) io.stderr.write(`error: ${redact(error.message)}\n`);
    return EXIT.badInput;
  }
  const clock = io.clock ?? systemClock;
  const paint = paintFor(io.stderr, io.env);
  const log = terminalLogger(io.stderr, paint, () => clock.now(), Boolean(io.env.VELOZ_DEBUG));
  const run = await definition.load();
  const context = { clock, log, workflowRun: cliRunInfo(io.env, call.label, clock.now()), tempDir: tmpdir() };
  const result = secretRegistry.redactDeep(await run(freeze(read.settings as object), context)) as RunResult;
  const flagText = (text: string): string => asFlags(text, inputs);
  if (json) io.stdout.write(renderJson(result.report));
  else io.stdout.write(renderText(result.report, paintFor(io.stdout, io.env), flagText));
  for (const warning of result.warnings ?? []) io.stderr.write(`${paint.yellow(`warning: ${flagText(warning)}`)}\n`);
  if (result.outputs.verdict === 'rollback') return EXIT.rollbackVerdict;
  return result.failure ? EXIT.failed : EXIT.ok;
}

/**
 * `VELOZ_GITHUB_TOKEN` for `--github-token`: secrets (tokens, database and webhook URLs) need not be
 * typed on a command line other users of the host can read in `ps`.
 */
function envName(input: string): string {
  return `VELOZ_${input.toUpperCase().replace(/-/g, '_')}`;
}

/** The action's advice names inputs as workflow YAML (`force: true`); at a terminal that is a flag. */
export function asFlags(text: string, inputs: ActionInputs): string {
  return text.replace(/`([a-z][a-z0-9-]*): ([^`\n]+)`/g, (whole, name: string, value: string) =>
    name in inputs ? `\`--${name}${value === 'true' ? '' : ` ${value}`}\`` : whole,
  );
}
