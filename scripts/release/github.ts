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

const status = (error: unknown): number | undefined => (error as { status?: number }).status;

export function githubReleases(token: string, repository: string, apiUrl: string): GithubReleases {
  const octokit = getOctokit(token, { baseUrl: apiUrl });
  const [owner = '', repo = ''] = repository.split('/');
  const request = (): { signal: AbortSignal } => ({ signal: AbortSignal.timeout(GITHUB_TIMEOUT_MS) });
  const settings = `${apiUrl.replace('api.github.com', 'github.com')}/${repository}/settings`;

  return {
    async requireImmutableReleases() {
      try {
        const { data } = await octokit.rest.repos.checkImmutableReleases({ owner, repo, request: request() });
        if (data.enabled) return;
      } catch (error) {
        if (status(error) !== 404) throw error; // 404 is GitHub's "not enabled"
      }
      throw new Error(
        `${repository} does not make releases immutable: a published release's tag could be moved. ` +
          `Turn on "Release immutability" (${settings}, General → Releases) or run ` +
          `\`gh api -X PUT repos/${repository}/immutable-releases\` as an admin, then release again.`,
      );
    },

    async requireNoRelease(tag) {
      try {
        const { data } = await octokit.rest.repos.getReleaseByTag({ owner, repo, tag, request: request() });
        throw new Error(`${tag} already has a release (${data.html_url}); release a new version instead.`);
      } catch (error) {
        if (status(error) !== 404) throw error;
      }
    },

    async create({ tag, sha, name, body }) {
      const { data } = await octokit.rest.repos.createRelease({
        owner,
        repo,
        tag_name: tag,
        target_commitish: sha,
        name,
        body,
        draft: false,
        prerelease: false,
        make_latest: 'true',
        request: request(),
      });
      return { id: data.id, url: data.html_url, immutable: data.immutable === true };
    },
  };
}
