/**
 * Who runs the CLI, in the shape the records and the release lock already use. The actor is
 * `cli:<user>@<host>`; the "run URL" names the host and process, so a lock held by the CLI says where.
 */
import { hostname, userInfo } from 'node:os';
import type { RunInfo } from '@veloz/shared/contract';

function cliActor(env: NodeJS.ProcessEnv): string {
  let user = env.USER || env.LOGNAME || '';
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = 'unknown';
    }
  }
  return `cli:${user}@${hostname()}`;
}

export function cliRunInfo(env: NodeJS.ProcessEnv, command: string, startedMs: number): RunInfo {
  const actor = cliActor(env);
  const runId = `${process.pid}-${startedMs}`;
  const serverUrl = env.GITHUB_SERVER_URL || 'https://github.com';
  return {
    // A GitHub token given to the CLI records on this repository's deployments, as the workflow would.
    repository: env.GITHUB_REPOSITORY || 'local/run',
    runId,
    runAttempt: '1',
    runUrl: `${actor}/pid/${runId}`,
    actor,
    sha: env.GITHUB_SHA || '',
    ref: env.GITHUB_REF || '',
    workflow: 'veloz-deploy',
    job: command,
    serverUrl,
    apiUrl: env.GITHUB_API_URL || 'https://api.github.com',
  };
}
