/**
 * GitHub deployment records: one deployment per release version and environment, with statuses
 * in_progress -> success/failure, so the repository's Environments page tells the same story as the
 * cluster. @actions/github is loaded only when a token is given.
 */
import type { getOctokit } from '@actions/github';
import type { RunInfo } from '../contract';
import { redact, secretRegistry, singleLine } from '../secrets';

export type DeploymentState = 'in_progress' | 'success' | 'failure' | 'inactive' | 'error' | 'queued' | 'pending';

interface DeploymentPayload {
  version: string;
  release: string;
  namespace: string;
  revision?: string;
  [key: string]: unknown;
}

export interface GithubDeployments {
  /** Finds the newest deployment of this ref and environment for the version, or creates one. */
  ensure(payload: DeploymentPayload, description: string): Promise<number>;
  /** Newest deployment in the environment for another version (what a rollback returns to). */
  findLatest(filter: (payload: Partial<DeploymentPayload>) => boolean): Promise<number | undefined>;
  status(id: number, state: DeploymentState, description: string): Promise<void>;
}

/**
 * Octokit sets no timeout: a GitHub API that accepts and never answers would hold the deploy (and
 * the release lock it keeps renewing) until the job times out. Records are best effort, like chat.
 */
const GITHUB_REQUEST_TIMEOUT_MS = 10_000;

export async function githubDeployments(
  token: string,
  run: RunInfo,
  environment: string,
  timeoutMs = GITHUB_REQUEST_TIMEOUT_MS,
): Promise<GithubDeployments> {
  const octokit = await githubClient(token, run, timeoutMs);
  const [owner = '', repo = ''] = run.repository.split('/');
  const ref = run.sha || run.ref;

  const list = async (): Promise<{ id: number; payload: Partial<DeploymentPayload> }[]> => {
    const response = await octokit.rest.repos.listDeployments({ owner, repo, environment, per_page: 30 });
    return response.data.map((d) => ({
      id: d.id,
      payload: (typeof d.payload === 'string' ? safeJson(d.payload) : d.payload) as Partial<DeploymentPayload>,
    }));
  };

  return {
    async ensure(payload, description) {
      const existing = (
        await octokit.rest.repos.listDeployments({ owner, repo, environment, ref, per_page: 30 })
      ).data.find(
        (d) =>
          (typeof d.payload === 'object' ? (d.payload as Partial<DeploymentPayload>) : safeJson(String(d.payload)))
            .version === payload.version,
      );
      if (existing) return existing.id;
      const created = await octokit.rest.repos.createDeployment({
        owner,
        repo,
        ref,
        environment,
        payload: secretRegistry.redactDeep(payload) as unknown as Record<string, unknown>,
        description: githubText(description),
        auto_merge: false,
        required_contexts: [],
        production_environment: environment === 'production',
      });
      if (!('id' in created.data))
        throw new Error(`GitHub did not create the deployment: ${created.data.message ?? created.status}`);
      return created.data.id;
    },
    async findLatest(filter) {
      return (await list()).find((d) => filter(d.payload))?.id;
    },
    async status(id, state, description) {
      await octokit.rest.repos.createDeploymentStatus({
        owner,
        repo,
        deployment_id: id,
        state,
        description: githubText(description),
        log_url: run.runUrl,
        environment,
        auto_inactive: state === 'success',
      });
    },
  };
}

export type GithubClient = ReturnType<typeof getOctokit>;

/** Octokit on the run's API URL (so tests reach the double), every request under a deadline. */
export async function githubClient(
  token: string,
  run: Pick<RunInfo, 'apiUrl'>,
  timeoutMs = GITHUB_REQUEST_TIMEOUT_MS,
): Promise<GithubClient> {
  const { getOctokit } = await import('@actions/github');
  const octokit = getOctokit(token, { baseUrl: run.apiUrl });
  // Per request, through the hook, so @actions/github's proxy-aware fetch stays in place. The options
  // are changed in place: the inner (auth) hook is bound to this object and ignores a new one.
  octokit.hook.wrap('request', async (request, options) => {
    const signal = AbortSignal.timeout(timeoutMs);
    options.request = { ...options.request, signal };
    try {
      return await request(options);
    } catch (error) {
      if (!signal.aborted) throw error;
      throw new Error(`the GitHub API did not answer ${options.method} ${options.url} within ${timeoutMs / 1000} s`, {
        cause: error,
      });
    }
  });
  return octokit;
}

/** Descriptions hold free text (a rollback reason): one redacted line, GitHub's 140 characters. */
function githubText(text: string): string {
  return singleLine(redact(text)).slice(0, 140);
}

function safeJson(text: string): Partial<DeploymentPayload> {
  try {
    return JSON.parse(text) as Partial<DeploymentPayload>;
  } catch {
    return {};
  }
}
