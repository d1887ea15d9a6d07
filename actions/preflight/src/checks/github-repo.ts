/** The repository and release commit the GitHub checks ask about, and how they name failures. */
import type { RunInfo } from '@veloz/shared/contract';
import { describeError, type CheckOutcome } from '@veloz/shared/checks';
import { githubClient, type GithubClient } from '@veloz/shared/records/github';

export interface GithubRepo {
  octokit: GithubClient;
  owner: string;
  repo: string;
  /** The release commit. */
  sha: string;
  /** The workflow's ref (refs/heads/…), for alerts on the release branch. */
  ref: string;
  /** This workflow run: its own jobs are check runs on the release commit, still in progress. */
  runId: string;
  serverUrl: string;
}

/** `requestTimeoutMs`: GitHub's own request deadline unless a test needs a short one. */
export async function githubRepo(
  token: string,
  run: RunInfo,
  sha: string | undefined,
  requestTimeoutMs?: number,
): Promise<GithubRepo> {
  const [owner = '', repo = ''] = run.repository.split('/');
  return {
    octokit: await githubClient(token, run, requestTimeoutMs),
    owner,
    repo,
    sha: sha ?? run.sha,
    ref: run.ref,
    runId: run.runId,
    serverUrl: run.serverUrl,
  };
}

/** HTTP status of an Octokit RequestError, if that is what was thrown. */
export function httpStatusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

/** GitHub's message of a failed request (not the whole error, which carries the request URL and headers). */
export function githubMessage(error: unknown): string {
  const data = (error as { response?: { data?: { message?: unknown } } } | null)?.response?.data;
  return typeof data?.message === 'string' ? data.message : describeError(error);
}

/** A check that could not ask GitHub: says which permission the token needs when GitHub said 403/404. */
export function githubUnavailable(what: string, permission: string, error: unknown): CheckOutcome {
  const status = httpStatusOf(error);
  const hint =
    status === 403 || status === 404
      ? ` The token needs \`${permission}\` (in the workflow's \`permissions:\`), and the repository must allow it.`
      : '';
  return {
    status: 'fail',
    observed: status ? `GitHub answered ${status}` : 'GitHub unreachable',
    detail: `Could not read ${what}: ${githubMessage(error)}.${hint}`,
  };
}

/** "name (link)" for a list of named, linked things; the first few, then a count. */
export function namedList(items: { name: string; url?: string | null }[], limit = 8): string {
  const shown = items.slice(0, limit).map((i) => (i.url ? `${i.name} (${i.url})` : i.name));
  return items.length > limit ? `${shown.join(', ')} and ${items.length - limit} more` : shown.join(', ');
}
