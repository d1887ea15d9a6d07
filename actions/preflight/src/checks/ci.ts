/** Runbook §1.1 "All CI tests passing on release branch" (and "Performance benchmarks" as a required check). */
import { type Check, type CheckOutcome, defineCheck } from '@veloz/shared/checks';
import { githubUnavailable, namedList, type GithubRepo } from './github-repo';

interface CiResult {
  name: string;
  url?: string | null;
  state: 'success' | 'pending' | 'failure';
}

const PASSING_CONCLUSIONS = new Set(['success', 'neutral', 'skipped']);
const PERMISSION = 'checks: read` and `statuses: read';

export function ciCheck(gh: GithubRepo, requiredChecks: readonly string[], timeoutMs: number): Check {
  return defineCheck('ci', 'CI on the release commit', timeoutMs, async () => {
    let results: CiResult[];
    try {
      results = [...(await checkRuns(gh)), ...(await commitStatuses(gh))];
    } catch (error) {
      return githubUnavailable(`the checks of commit ${gh.sha.slice(0, 7)}`, PERMISSION, error);
    }
    return judge(gh, results, requiredChecks);
  });
}

function judge(gh: GithubRepo, results: CiResult[], requiredChecks: readonly string[]): CheckOutcome {
  const commit = gh.sha.slice(0, 7);
  const failed = results.filter((r) => r.state === 'failure');
  const pending = results.filter((r) => r.state === 'pending');
  const missing = requiredChecks.filter((name) => !results.some((r) => r.name === name));
  const passed = results.length - failed.length - pending.length;
  const observed = `${passed}/${results.length} passed${failed.length ? `, ${failed.length} failed` : ''}${
    pending.length ? `, ${pending.length} pending` : ''
  }${missing.length ? `, ${missing.length} required missing` : ''}`;
  const threshold = `all complete and successful${requiredChecks.length ? `; required: ${requiredChecks.join(', ')}` : ''}`;
  const data = {
    sha: gh.sha,
    failed: failed.map((r) => r.name),
    pending: pending.map((r) => r.name),
    missing,
    passed: results.filter((r) => r.state === 'success').map((r) => r.name),
  };
  const problems = [
    failed.length ? `Failed: ${namedList(failed)}.` : '',
    pending.length ? `Still running: ${namedList(pending)}.` : '',
    missing.length ? `Required but never reported: ${missing.join(', ')} (check the job names, or run them).` : '',
  ].filter(Boolean);
  if (results.length === 0) {
    return {
      status: 'fail',
      observed: 'no checks',
      threshold,
      detail: `No check run or status was reported on commit ${commit}: CI did not run on the release commit. Run it, or deploy a commit CI has passed.`,
      data,
    };
  }
  if (problems.length === 0) return { status: 'pass', observed, threshold, data };
  const next =
    pending.length && !failed.length
      ? ' Wait for them, then re-run this job.'
      : ' Fix or re-run them, then re-run this job.';
  return {
    status: 'fail',
    observed,
    threshold,
    detail: `Commit ${commit}: ${problems.join(' ')}${next} (${gh.serverUrl}/${gh.owner}/${gh.repo}/commit/${gh.sha}/checks)`,
    data,
  };
}

/** Latest check run per name, without this workflow run's own jobs (they are still running: us). */
async function checkRuns(gh: GithubRepo): Promise<CiResult[]> {
  const runs = await gh.octokit.paginate(gh.octokit.rest.checks.listForRef, {
    owner: gh.owner,
    repo: gh.repo,
    ref: gh.sha,
    filter: 'latest',
    per_page: 100,
  });
  const ownRun = `/actions/runs/${gh.runId}/`;
  return runs
    .filter((r) => !`${r.details_url ?? ''} ${r.html_url ?? ''}`.includes(ownRun))
    .map((r) => ({
      name: r.name,
      url: r.html_url ?? r.details_url,
      state: r.status !== 'completed' ? 'pending' : PASSING_CONCLUSIONS.has(r.conclusion ?? '') ? 'success' : 'failure',
    }));
}

/** The combined status holds the latest status per context. */
async function commitStatuses(gh: GithubRepo): Promise<CiResult[]> {
  const { data } = await gh.octokit.rest.repos.getCombinedStatusForRef({
    owner: gh.owner,
    repo: gh.repo,
    ref: gh.sha,
    per_page: 100,
  });
  return data.statuses.map((s) => ({
    name: s.context,
    url: s.target_url,
    state: s.state === 'success' ? 'success' : s.state === 'pending' ? 'pending' : 'failure',
  }));
}
