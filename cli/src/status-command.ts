/**
 * `veloz-deploy status [--kubeconfig FILE] [--context NAME] [--namespace veloz] [--release veloz]
 * [--deployment veloz-engine] [--json]`: the table of status.ts, or its rows as JSON. Exit 1 when a
 * context could not be read (the others are still shown).
 */
import { systemClock } from '@veloz/shared/clock';
import { ParseError, parseDnsLabel, parseDnsSubdomain } from '@veloz/shared/parse';
import { UsageError, type ParsedArgs } from './flags';
import { kubeconfigContent } from './kubeconfig';
import { readStatuses, renderStatusTable, type StatusTarget } from './status';
import type { Out } from './terminal';

const STATUS_FLAGS = ['kubeconfig', 'context', 'namespace', 'release', 'deployment'] as const;

export const STATUS_HELP = `veloz-deploy status — each kubeconfig context's release: version, Helm and Deployment
revisions, green present, release lock holder and expiry. Reads only.

  --kubeconfig FILE    kubeconfig with one context per cluster (default: $KUBECONFIG, else ~/.kube/config)
  --context NAME       only this context
  --namespace NAME     namespace of the release (default: veloz)
  --release NAME       Helm release (default: veloz)
  --deployment NAME    engine Deployment (default: veloz-engine)
  --json               the rows as JSON on stdout
`;

export async function status(
  args: ParsedArgs,
  io: { stdout: Out; stderr: Out; env: NodeJS.ProcessEnv; clock?: { now(): number } },
): Promise<number> {
  if (args.help) {
    io.stdout.write(STATUS_HELP);
    return 0;
  }
  for (const name of args.flags.keys())
    if (!(STATUS_FLAGS as readonly string[]).includes(name))
      throw new UsageError(`unknown flag --${name} for status: see veloz-deploy status --help`);
  const target = statusTarget(args.flags);
  const path = args.flags.get('kubeconfig') ?? io.env.KUBECONFIG ?? '~/.kube/config';
  // All contexts: the file as it is (the context filter is applied per row below).
  const kubeconfig = kubeconfigContent(args.flags.get('kubeconfig'), undefined, io.env);
  const now = (io.clock ?? systemClock).now();
  const rows = await readStatuses(kubeconfig, path, target, args.flags.get('context'), now);
  io.stdout.write(args.json ? `${JSON.stringify({ target, clusters: rows }, null, 2)}\n` : renderStatusTable(rows));
  return rows.some((r) => r.error) ? 1 : 0;
}

function statusTarget(flags: Map<string, string>): StatusTarget {
  // The same grammars as the actions' namespace, deployment and release inputs (target.ts).
  const name = (flag: string, fallback: string, parse: (text: string) => string): string => {
    const value = flags.get(flag) ?? fallback;
    try {
      return parse(value);
    } catch (error) {
      if (error instanceof ParseError) throw new UsageError(`--${flag} ${value}: expected ${error.expected}`);
      throw error;
    }
  };
  return {
    namespace: name('namespace', 'veloz', parseDnsLabel),
    release: name('release', 'veloz', (text) => parseDnsLabel(text, 53)),
    deployment: name('deployment', 'veloz-engine', parseDnsSubdomain),
  };
}
