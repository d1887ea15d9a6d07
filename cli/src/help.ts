/** `veloz-deploy --help` and `veloz-deploy <command> --help`, built from the actions' action.yml. */
import { firstSentence, type ActionInputs } from './metadata';
import { columns } from './report-text';

export const USAGE = `veloz-deploy — the VeloZ deployment actions from a terminal, for when GitHub Actions is down.
Same code, same release lock, same records as the workflow; the actor is cli:<user>@<host>.

Usage: veloz-deploy <command> [--flag value ...]

Commands:
${columns([
  ['preflight', 'the pre-deployment checklist (runbook §1)'],
  ['canary', 'start the new version beside the release (§2 steps 1–3)'],
  ['promote', 'promote the canary: full size, autoscaling on (§2 step 4)'],
  ['validate', 'watch the deployment and decide whether it must be rolled back (§3, §4.1)'],
  ['rollback', 'restore the last good revision, verify, record (§4.2–4.5)'],
  ['plan <canary|promote|rollback>', 'show what that command would change, changing nothing'],
  ['status', "every kubeconfig context's version, revisions, green and release lock (read-only)"],
  ['waves <plan|outcome|summary>', "waves.yml's own steps (VELOZ_WAVES, VELOZ_VERSION, VELOZ_RELEASE)"],
]).join('\n')}

Flags are the actions' inputs by name (--to-revision 3, --database-restore pitr, --force); a flag
without a value is true; VELOZ_<INPUT> variables (VELOZ_GITHUB_TOKEN, VELOZ_POSTGRES_URL) stand for
flags not given, so secrets stay off the command line. Every command also takes:
${columns([
  [
    '--kubeconfig FILE',
    'kubeconfig file (default: $KUBECONFIG, else ~/.kube/config); `in-cluster` for a service account',
  ],
  ['--context NAME', 'kubeconfig context to use (default: its current-context)'],
  ['--json', 'print the report as JSON on stdout (progress stays on stderr)'],
  ['-h, --help', 'this help, or a command’s flags: veloz-deploy rollback --help'],
]).join('\n')}

Exit codes: 0 done, 1 failed, 2 bad flags or input, 3 validate's verdict is rollback.`;

export function commandHelp(command: string, inputs: ActionInputs, fixed: readonly string[]): string {
  const rows = Object.entries(inputs)
    .filter(([name]) => !fixed.includes(name) && name !== 'kubeconfig')
    .map(([name, spec]) => [
      `--${name}`,
      spec.required ? '(required)' : shownDefault(spec.default),
      firstSentence(spec.description),
    ]);
  return `Usage: veloz-deploy ${command} [--flag value ...]\n\n${columns(rows).join('\n')}\n\nAlso: --kubeconfig FILE, --context NAME, --json (see veloz-deploy --help).\n`;
}

/** A default short enough for a help line (a default SQL query is not). */
function shownDefault(value: string | undefined): string {
  if (value === undefined || value === '') return '';
  const flat = value.replace(/\s+/g, ' ').trim();
  return `[${flat.length > 24 ? `${flat.slice(0, 23)}…` : flat}]`;
}
