/**
 * git through argv (never a shell string), each command with a deadline: a push that waits on a
 * credential prompt or a dead remote fails with the command instead of holding the release.
 */
import { execFile } from 'node:child_process';

export const GIT_TIMEOUT_MS = 60_000;
export const PUSH_TIMEOUT_MS = 180_000;

export class GitError extends Error {}

export interface Git {
  /** Runs `git <args>` in the repository; resolves trimmed stdout, rejects with stderr and the command. */
  (args: string[], options?: { timeoutMs?: number }): Promise<string>;
  cwd: string;
}

export function gitIn(cwd: string): Git {
  const git = (args: string[], options: { timeoutMs?: number } = {}): Promise<string> =>
    new Promise((resolve, reject) => {
      const timeout = options.timeoutMs ?? GIT_TIMEOUT_MS;
      // no terminal prompt for credentials: a missing token must fail, not wait
      const env = { ...process.env, GIT_TERMINAL_PROMPT: '0' };
      execFile('git', args, { cwd, env, timeout, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
        if (!error) return resolve(stdout.trimEnd());
        const why = error.killed ? `no answer within ${timeout / 1000} s` : stderr.trim() || error.message;
        reject(new GitError(`git ${args.join(' ')} failed in ${cwd}: ${why}`));
      });
    });
  return Object.assign(git, { cwd });
}
