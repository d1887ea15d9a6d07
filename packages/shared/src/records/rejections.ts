/**
 * The rejected-versions record every cluster of a release can read: one GitHub deployment per
 * rejection, task `veloz:reject`, in the environment of the cluster that rolled it back. A ConfigMap is
 * seen only inside its cluster; a deployment is seen by every job of the repository with
 * `deployments: read`, which the GITHUB_TOKEN can hold (a repository variable cannot be written with
 * the GITHUB_TOKEN at all: it needs a PAT or an app with "Variables: write"). The payload names the
 * version `rejected`, not `version`, so the deploy records (records/github.ts) never mistake it for a
 * deployment of that version.
 */
import type { RunInfo } from '../contract';
import type { RejectedVersion } from '../kube/rejected-versions';
import { normalizeVersion } from '../kube/rejected-versions';
import { redact, singleLine } from '../secrets';
import type { GithubClient } from './github';

export const REJECTION_TASK = 'veloz:reject';

export interface GithubRejection extends RejectedVersion {
  /** The GitHub environment (cluster) whose rollback rejected it. */
  environment: string;
}

interface RejectionPayload {
  kind: 'rejected-version';
  release: string;
  namespace: string;
  rejected: string;
  reason: string;
  at: string;
  run: string;
  rolledBackTo?: string;
}

interface Repo {
  octokit: GithubClient;
  owner: string;
  repo: string;
}

export function repoOf(octokit: GithubClient, repository: string): Repo {
  const [owner = '', repo = ''] = repository.split('/');
  return { octokit, owner, repo };
}

/** The rejections of `release` in every environment of the repository, newest first (GitHub's newest 100). */
export async function readGithubRejections(gh: Repo, release: string): Promise<GithubRejection[]> {
  const response = await gh.octokit.rest.repos.listDeployments({
    owner: gh.owner,
    repo: gh.repo,
    task: REJECTION_TASK,
    per_page: 100,
  });
  return response.data.flatMap((d) => {
    const p = payloadOf(d.payload);
    if (p?.kind !== 'rejected-version' || p.release !== release || typeof p.rejected !== 'string') return [];
    const entry: GithubRejection = {
      version: normalizeVersion(p.rejected),
      reason: String(p.reason ?? ''),
      at: String(p.at ?? d.created_at),
      run: String(p.run ?? ''),
      environment: d.environment,
      ...(p.rolledBackTo ? { rolledBackTo: String(p.rolledBackTo) } : {}),
    };
    return [entry];
  });
}

/**
 * Records one rejection; a re-run of the same rollback finds its own record and writes nothing. The
 * deployment gets an `inactive` status at once: it is a record, not something running.
 */
export async function recordGithubRejection(
  gh: Repo,
  run: Pick<RunInfo, 'sha' | 'ref'>,
  target: { environment: string; release: string; namespace: string },
  entry: RejectedVersion,
): Promise<'recorded' | 'already recorded'> {
  const version = normalizeVersion(entry.version);
  const existing = await readGithubRejections(gh, target.release);
  if (existing.some((r) => r.version === version && r.run === entry.run && r.environment === target.environment))
    return 'already recorded';
  const payload: RejectionPayload = {
    kind: 'rejected-version',
    release: target.release,
    namespace: target.namespace,
    rejected: version,
    reason: redact(entry.reason),
    at: entry.at,
    run: entry.run,
    ...(entry.rolledBackTo ? { rolledBackTo: entry.rolledBackTo } : {}),
  };
  const description = singleLine(redact(`v${version} rejected: ${entry.reason}`)).slice(0, 140);
  const created = await gh.octokit.rest.repos.createDeployment({
    owner: gh.owner,
    repo: gh.repo,
    ref: run.sha || run.ref,
    task: REJECTION_TASK,
    environment: target.environment,
    payload: payload as unknown as Record<string, unknown>,
    description,
    auto_merge: false,
    required_contexts: [],
    production_environment: false,
  });
  if (!('id' in created.data))
    throw new Error(`GitHub did not create the rejection record: ${created.data.message ?? created.status}`);
  await gh.octokit.rest.repos.createDeploymentStatus({
    owner: gh.owner,
    repo: gh.repo,
    deployment_id: created.data.id,
    state: 'inactive',
    description,
    ...(entry.run ? { log_url: entry.run } : {}),
  });
  return 'recorded';
}

/** The shell command that shows the record, for an error message. */
export function githubRejectionsCommand(gh: Pick<Repo, 'owner' | 'repo'>): string {
  return `gh api 'repos/${gh.owner}/${gh.repo}/deployments?task=${REJECTION_TASK}' --jq '.[].payload'`;
}

function payloadOf(payload: unknown): Partial<RejectionPayload> | undefined {
  if (typeof payload === 'object' && payload !== null) return payload as Partial<RejectionPayload>;
  if (typeof payload !== 'string') return undefined;
  try {
    return JSON.parse(payload) as Partial<RejectionPayload>;
  } catch {
    return undefined;
  }
}
