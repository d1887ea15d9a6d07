/**
 * What each cluster of a wave release did in THIS run, read back from the GitHub deployment records
 * deploy.yml's actions write (canary: in_progress/success/failure; rollback: failure "Rolled back: …"
 * on the version, success "Restored by rollback" on what it returned to). Matrix jobs cannot hand
 * per-cluster outputs to later jobs (the last leg's value wins), so the records are the one place
 * every later job of the run can read them. A status is this run's when its log_url is this run.
 */
import type { RunInfo } from '@veloz/shared/contract';
import type { GithubClient } from '@veloz/shared/records/github';
import type { WavePlan } from './plan';

export type Verdict = 'promoted' | 'rolled back' | 'failed' | 'in progress' | 'not started';

export interface ClusterOutcome {
  wave: number;
  waveName: string;
  cluster: string;
  verdict: Verdict;
  /** The rollback came from rollback-all, not the cluster's own deploy. */
  byRollbackAll: boolean;
  before?: string;
  after?: string;
  startedAt?: string;
  endedAt?: string;
  durationMs?: number;
  description?: string;
  /** The environment's deployments page. */
  environmentUrl: string;
}

interface Record {
  version?: string;
  release?: string;
  statuses: { state: string; description: string; log_url?: string; created_at: string }[];
}

/** The marker rollback-all puts in its reason, so the summary tells its rollbacks from a cluster's own. */
export const ROLLBACK_ALL_MARK = 'rollback-all';
/** Deployments read per environment: this run's and the ones before it. */
const PER_ENVIRONMENT = 10;

export async function readOutcomes(
  octokit: GithubClient,
  run: RunInfo,
  plan: WavePlan,
  target: { version: string; release: string },
): Promise<ClusterOutcome[]> {
  const [owner = '', repo = ''] = run.repository.split('/');
  const clusters = plan.waves.flatMap((w, i) =>
    w.clusters.map((cluster) => ({ cluster, wave: i + 1, waveName: w.name })),
  );
  return Promise.all(
    clusters.map(async ({ cluster, wave, waveName }) => {
      const records = await readRecords(octokit, owner, repo, cluster, target.release);
      const environmentUrl = `${run.serverUrl}/${run.repository}/deployments/${encodeURIComponent(cluster)}`;
      return { wave, waveName, cluster, environmentUrl, ...outcomeOf(records, target.version, run.runUrl) };
    }),
  );
}

async function readRecords(
  octokit: GithubClient,
  owner: string,
  repo: string,
  environment: string,
  release: string,
): Promise<Record[]> {
  const list = await octokit.rest.repos.listDeployments({
    owner,
    repo,
    environment,
    task: 'deploy',
    per_page: PER_ENVIRONMENT,
  });
  const mine = list.data.filter((d) => payloadOf(d.payload).release === release);
  return Promise.all(
    mine.map(async (d) => {
      const statuses = await octokit.rest.repos.listDeploymentStatuses({
        owner,
        repo,
        deployment_id: d.id,
        per_page: 30,
      });
      return { version: payloadOf(d.payload).version, release, statuses: statuses.data };
    }),
  );
}

/** Records newest first, statuses newest first (GitHub's order). */
export function outcomeOf(
  records: readonly Record[],
  version: string,
  runUrl: string,
): Omit<ClusterOutcome, 'wave' | 'waveName' | 'cluster' | 'environmentUrl'> {
  const ours = records.find((r) => r.version === version);
  const oursIndex = ours ? records.indexOf(ours) : records.length;
  const before =
    records.slice(oursIndex + 1).find((r) => r.version !== version && r.statuses.some((s) => s.state === 'success'))
      ?.version ?? records.find((r) => r.version !== version)?.version;
  const thisRun = (ours?.statuses ?? []).filter((s) => s.log_url === runUrl);
  if (thisRun.length === 0)
    return { verdict: 'not started', byRollbackAll: false, ...(before ? { before, after: before } : {}) };
  const last = thisRun[0]!;
  const first = thisRun.at(-1)!;
  const rolledBack = last.state === 'failure' && /^Rolled back/.test(last.description);
  const verdict: Verdict =
    last.state === 'success'
      ? 'promoted'
      : rolledBack
        ? 'rolled back'
        : last.state === 'failure'
          ? 'failed'
          : 'in progress';
  const restored = records.find(
    (r) => r !== ours && r.statuses.some((s) => s.log_url === runUrl && s.state === 'success'),
  )?.version;
  const after =
    verdict === 'promoted'
      ? version
      : verdict === 'rolled back'
        ? (restored ?? before)
        : verdict === 'failed'
          ? before
          : undefined;
  return {
    verdict,
    byRollbackAll: rolledBack && last.description.includes(ROLLBACK_ALL_MARK),
    ...(before ? { before } : {}),
    ...(after ? { after } : {}),
    startedAt: first.created_at,
    endedAt: last.created_at,
    durationMs: Date.parse(last.created_at) - Date.parse(first.created_at),
    description: last.description,
  };
}

/** The clusters rollback-all returns: promoted in this run and not rolled back since. */
export function promotedClusters(outcomes: readonly ClusterOutcome[]): string[] {
  return outcomes.filter((o) => o.verdict === 'promoted').map((o) => o.cluster);
}

function payloadOf(payload: unknown): { version?: string; release?: string } {
  if (typeof payload === 'object' && payload !== null) return payload as { version?: string; release?: string };
  try {
    return JSON.parse(String(payload)) as { version?: string; release?: string };
  } catch {
    return {};
  }
}
