/** Runs bin/veloz-deploy.js as an on-call engineer would: a child process, its own HOME and USER. */
import { REPO_ROOT } from '@veloz/harness';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function runCli(
  argv: string[],
  env: Record<string, string>,
  timeoutMs = 120_000,
  /** Called with the CLI's process once spawned (a test that interrupts it signals it). */
  onSpawn?: (child: ChildProcess) => void,
): Promise<CliRun> {
  const home = await mkdtemp(join(tmpdir(), 'veloz-cli-home-'));
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'veloz-deploy.js'), ...argv], {
    cwd: home,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      USER: 'oncall',
      // The fixture chart and the tests' files (workspaceTempDir) lie in the repository: file flags must
      // name files inside the workspace, the current directory unless GITHUB_WORKSPACE says otherwise.
      GITHUB_WORKSPACE: REPO_ROOT,
      ...(process.env.VELOZ_BUNDLE_COVERAGE ? { NODE_V8_COVERAGE: process.env.VELOZ_BUNDLE_COVERAGE } : {}),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onSpawn?.(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
  clearTimeout(timer);
  await rm(home, { recursive: true, force: true });
  return { code, stdout, stderr };
}
