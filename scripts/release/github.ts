/**
 * The GitHub side of a release, through the REST API (@actions/github's Octokit): immutable releases
 * must be on before anything is pushed, and the release is created on the pushed tag.
 */
import { getOctokit } from '@actions/github';

/** Octokit sets no timeout; every call here gets one. */
export const GITHUB_TIMEOUT_MS = 30_000;

export interface ReleaseRequest {
  tag: string;
  /** The commit the tag points to. */
  sha: string;
  name: string;
  body: string;
}

export interface CreatedRelease {
  id: number;
  url: string;
  immutable: boolean;
}

export interface GithubReleases {
  /** Refuses (with the setting to change) when the repository does not make releases immutable. */
  requireImmutableReleases(): Promise<void>;
  /** Refuses when the tag already has a release: an immutable release cannot be replaced. */
  requireNoRelease(tag: string): Promise<void>;
  create(release: ReleaseRequest): Promise<CreatedRelease>;
}

const isNotFound = (error: unknown): boolean => (error as { status?: number }).status === 404;

/** Runs one API call with a deadline; a call that found nothing resolves undefined. */
async function call<T>(
  what: string,
  timeoutMs: number,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T | undefined> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    return await fn(signal);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    if (signal.aborted)
      throw new Error(`the GitHub API did not answer ${what} within ${timeoutMs / 1000} s`, { cause: error });
    throw new Error(`GitHub API ${what}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

export function githubReleases(
  token: string,
  repository: string,
  apiUrl: string,
  timeoutMs = GITHUB_TIMEOUT_MS,
): GithubReleases {
  const octokit = getOctokit(token, { baseUrl: apiUrl });
  const [owner = '', repo = ''] = repository.split('/');

  return {
    async requireImmutableReleases() {
      // 404 is GitHub's "not enabled"
      const setting = await call('GET immutable-releases', timeoutMs, (signal) =>
        octokit.rest.repos.checkImmutableReleases({ owner, repo, request: { signal } }),
      );
      if (setting?.data.enabled) return;
      throw new Error(
        `${repository} does not make releases immutable: a published release's tag could still be moved. ` +
          `Turn on "Release immutability" (repository Settings → General → Releases) or run ` +
          `\`gh api -X PUT repos/${repository}/immutable-releases\` as an admin, then release again.`,
      );
    },

    async requireNoRelease(tag) {
      const existing = await call(`GET releases/tags/${tag}`, timeoutMs, (signal) =>
        octokit.rest.repos.getReleaseByTag({ owner, repo, tag, request: { signal } }),
      );
      if (existing) throw new Error(`${tag} already has a release (${existing.data.html_url}): pick the next version.`);
    },

    async create({ tag, sha, name, body }) {
      const created = await call('POST releases', timeoutMs, (signal) =>
        octokit.rest.repos.createRelease({
          owner,
          repo,
          tag_name: tag,
          target_commitish: sha,
          name,
          body,
          draft: false,
          prerelease: false,
          make_latest: 'true',
          request: { signal },
        }),
      );
      if (!created) throw new Error(`GitHub API POST releases: ${repository} not found (does the token reach it?)`);
      return { id: created.data.id, url: created.data.html_url, immutable: created.data.immutable === true };
    },
  };
}
