/**
 * argv -> the subcommand and its flags. Flags carry the action inputs' own names (`--to-revision 3`,
 * `--to-revision=3`); a flag given without a value is `true` (`--force`). The values are then read by
 * the actions' own input parsers, so a bad value gets the action's own message.
 */
const SUBCOMMANDS = ['preflight', 'canary', 'promote', 'validate', 'rollback', 'plan', 'status', 'waves'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];
/** The actions `plan` can show: what canary, promote or rollback would do. */
const PLANNED = ['canary', 'promote', 'rollback'] as const;
type Planned = (typeof PLANNED)[number];

/** Flags of the CLI itself, not inputs of an action. */
export const CLI_FLAGS = ['kubeconfig', 'context', 'json', 'help'] as const;

export interface ParsedArgs {
  command?: Subcommand;
  /** `plan <what>`: the subcommand whose plan is shown. */
  planned?: Planned;
  /** `waves <step>`: plan, outcome or summary (waves.yml's own steps). */
  wavesStep?: string;
  flags: Map<string, string>;
  help: boolean;
  json: boolean;
}

/** A command line the CLI cannot run: exit 2, like a bad input. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const args: ParsedArgs = { flags: new Map(), help: false, json: false };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      args.help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    if (!/^[a-z][a-z0-9-]*$/.test(name))
      throw new UsageError(`'${arg}' is not a flag: flags look like --to-revision 3`);
    let value: string;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) value = argv[++i]!;
    else value = 'true';
    if (name === 'json') {
      args.json = value === 'true';
      continue;
    }
    if (args.flags.has(name)) throw new UsageError(`--${name} is given twice`);
    args.flags.set(name, value);
  }
  const [command, planned, ...rest] = positional;
  if (command !== undefined) {
    if (!(SUBCOMMANDS as readonly string[]).includes(command))
      throw new UsageError(`unknown command '${command}': expected one of ${SUBCOMMANDS.join(', ')}`);
    args.command = command as Subcommand;
  }
  if (args.command === 'waves') {
    if (planned !== undefined) args.wavesStep = planned;
  } else if (args.command === 'plan' && planned !== undefined) {
    if (!(PLANNED as readonly string[]).includes(planned))
      throw new UsageError(`'plan ${planned}': expected plan ${PLANNED.join(', plan ')}`);
    args.planned = planned as Planned;
  } else if (planned !== undefined) {
    rest.unshift(planned);
  }
  if (rest.length > 0)
    throw new UsageError(`unexpected argument '${rest[0]}': values follow their flag (--name value)`);
  if (args.command === 'plan' && !args.planned && !args.help)
    throw new UsageError(`'plan' needs what to plan: ${PLANNED.map((p) => `plan ${p}`).join(', ')}`);
  return args;
}
