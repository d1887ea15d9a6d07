/**
 * Helm through its CLI with argv arrays (never a shell string), streaming its output into our log.
 * Spawned directly rather than through @actions/exec because a fast-failing rollout must be able
 * to interrupt `helm upgrade --wait` (SIGTERM), which @actions/exec gives no handle for.
 * Helm 3 and Helm 4 differ in flags we use; the version is detected once per process.
 */
import { spawn } from 'node:child_process';
import { childEnvironment } from '../child-env';
import { redact } from '../secrets';

export interface Helm {
  bin: string;
  version: string;
  major: number;
}

interface HelmResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export class HelmError extends Error {
  constructor(
    readonly args: string[],
    readonly result: HelmResult,
  ) {
    const stderr = result.stderr.trim() || result.stdout.trim();
    super(redact(`helm ${args[0] ?? ''} failed (exit code ${result.exitCode}): ${stderr}`));
    this.name = 'HelmError';
  }
}

const detected = new Map<string, Promise<Helm>>();

/**
 * `helm version`, run once per process for a binary and PATH: a run that will need helm starts it
 * at once, beside its other preparation, and every later caller gets the same answer. A failure is
 * not kept: the next caller tries again and reports it.
 */
export function detectHelm(bin = 'helm'): Promise<Helm> {
  const key = `${bin}\0${process.env.PATH ?? ''}`; // helm is found on the PATH children get
  let found = detected.get(key);
  if (!found) {
    found = runHelmVersion(bin);
    detected.set(key, found);
    found.catch(() => detected.delete(key));
  }
  return found;
}

async function runHelmVersion(bin: string): Promise<Helm> {
  const result = await exec(bin, ['version', '--template', '{{.Version}}']);
  const match = /v?(\d+)\.(\d+)\.(\d+)/.exec(result.stdout);
  if (result.exitCode !== 0 || !match) {
    throw new Error(
      `Could not run \`${bin} version\` (${result.stderr.trim() || `exit code ${result.exitCode}`}). Install Helm 3 or 4 on the runner (e.g. azure/setup-helm, pinned by SHA).`,
    );
  }
  return { bin, version: `${match[1]}.${match[2]}.${match[3]}`, major: Number(match[1]) };
}

interface RunHelmOptions {
  onLine?: (line: string) => void;
  /** Additions to the allow-listed child environment, e.g. KUBECONFIG pointing at a temp file. */
  env?: Record<string, string>;
  /** Aborting sends helm SIGTERM (it records the interrupted operation), then SIGKILL after 10s. */
  signal?: AbortSignal;
}

/** Runs helm and throws HelmError with helm's own stderr, verbatim, when it fails. */
export async function runHelm(helm: Helm, args: string[], options: RunHelmOptions = {}): Promise<HelmResult> {
  const result = await exec(helm.bin, args, options);
  if (result.exitCode !== 0) throw new HelmError(args, result);
  return result;
}

function exec(bin: string, args: string[], options: RunHelmOptions = {}): Promise<HelmResult> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { env: childEnvironment(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const lines = (sink: (text: string) => void) => {
      let pending = '';
      return (chunk: string): void => {
        sink(chunk);
        pending += chunk;
        const parts = pending.split('\n');
        pending = parts.pop() ?? '';
        for (const line of parts) options.onLine?.(line);
      };
    };
    child.stdout.setEncoding('utf8').on(
      'data',
      lines((t) => (stdout += t)),
    );
    child.stderr.setEncoding('utf8').on(
      'data',
      lines((t) => (stderr += t)),
    );
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => resolve({ exitCode: 127, stdout, stderr: `${stderr}${error.message}` }));
    child.on('close', (code, signal) => {
      clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ exitCode: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

/**
 * helm argv as shown in a log line or a plan: each `--set` entry of the `set` input as `name=***`,
 * since a chart's values carry passwords as often as sizes. Our own --sets (tag, replicas,
 * autoscaling) stay readable: they are what an approver checks.
 */
export function shownHelmArgs(args: readonly string[], hidden: readonly string[]): string[] {
  const secret = new Set(hidden);
  return args.map((word, i) =>
    /^--set/.test(args[i - 1] ?? '') && secret.has(word) ? `${word.slice(0, word.indexOf('='))}=***` : word,
  );
}

/** Helm's --timeout takes Go durations: 5m0s. */
export function goDuration(ms: number): string {
  const seconds = Math.ceil(ms / 1000);
  const m = Math.floor(seconds / 60);
  return m > 0 ? `${m}m${seconds % 60}s` : `${seconds}s`;
}

/**
 * Helm 4 applies server-side: fields another manager changed since the last release (.spec.replicas
 * after an autoscaler or our canary scaling) conflict. The release is the source of truth for what
 * it renders, so helm 4 takes those fields back, as helm 3's three-way merge does. Helm 4 keeps
 * applying client-side to a release helm 3 made (`--server-side auto`), where the flag is refused.
 */
export function forceConflicts(helmMajor: number, previousApplyMethod: string | undefined): string[] {
  return helmMajor >= 4 && previousApplyMethod === 'ssa' ? ['--force-conflicts'] : [];
}
