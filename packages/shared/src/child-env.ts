/**
 * The environment every child process gets (restore, snapshot and backup-verify commands, helm,
 * kubectl, kubeconfig exec plugins): an allow-list, never the action's own environment, which holds
 * every input (INPUT_*), the runner's tokens (ACTIONS_*, GITHUB_TOKEN) and RUNNER_* settings.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Always passed through when set. HOME is replaced by a private temp dir unless `command-env` names it. */
const BASE_CHILD_ENV = ['PATH', 'TZ', 'LANG'] as const;

/** Never passed, even when named in `command-env`: the runner's credentials and our own inputs. */
const FORBIDDEN = /^(INPUT_|ACTIONS_|RUNNER_|GITHUB_TOKEN$)/i;

/** What `command-env` may name: a POSIX-ish variable name that is not forbidden. */
export function commandEnvNameProblem(name: string): string | undefined {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return 'a variable name (letters, digits, _)';
  if (FORBIDDEN.test(name)) return 'a variable that is not INPUT_*, ACTIONS_*, RUNNER_* or GITHUB_TOKEN';
  return undefined;
}

const allowed = new Set<string>();
let home: string | undefined;
let kubeconfig: { content?: string; inCluster: boolean; path?: string } | undefined;

/** Adds the names of the `command-env` input (read once, at parse time). */
export function allowChildEnv(names: readonly string[]): void {
  for (const name of names) if (!commandEnvNameProblem(name)) allowed.add(name);
}

/**
 * The kubeconfig children use: written on first need to a 0600 file in the private HOME and named
 * by KUBECONFIG; in-cluster passes the service host variables the client libraries look for.
 */
export function setChildKubeconfig(content: string | undefined, inCluster = false): void {
  kubeconfig = { content, inCluster };
}

function kubeconfigEnv(parentEnv: NodeJS.ProcessEnv): Record<string, string | undefined> {
  if (!kubeconfig) return {};
  if (kubeconfig.inCluster) {
    return {
      KUBERNETES_SERVICE_HOST: parentEnv.KUBERNETES_SERVICE_HOST,
      KUBERNETES_SERVICE_PORT: parentEnv.KUBERNETES_SERVICE_PORT,
    };
  }
  if (kubeconfig.content === undefined) return {};
  if (!kubeconfig.path) {
    kubeconfig.path = join(childHome(parentEnv), 'kubeconfig');
    writeFileSync(kubeconfig.path, kubeconfig.content, { mode: 0o600 });
  }
  return { KUBECONFIG: kubeconfig.path };
}

/** A private, empty HOME for children, so nothing reads the runner's ~/.kube, ~/.docker or ~/.netrc. */
function childHome(parentEnv: NodeJS.ProcessEnv): string {
  if (home) return home;
  const root = parentEnv.RUNNER_TEMP || tmpdir();
  mkdirSync(root, { recursive: true });
  const dir = mkdtempSync(join(root, 'veloz-home-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  home = dir;
  return dir;
}

/**
 * The allow-listed environment plus `additions` (KUBECONFIG pointing at the temp file, an exec
 * plugin's own `env` entries). Additions under a forbidden name are dropped too.
 */
export function childEnvironment(
  additions: Record<string, string | undefined> = {},
  parentEnv: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of [...BASE_CHILD_ENV, ...allowed]) {
    const value = parentEnv[name];
    if (value !== undefined) env[name] = value;
  }
  env.HOME ??= childHome(parentEnv);
  for (const [name, value] of Object.entries({ ...kubeconfigEnv(parentEnv), ...additions })) {
    if (value !== undefined && !FORBIDDEN.test(name)) env[name] = value;
  }
  return env;
}
