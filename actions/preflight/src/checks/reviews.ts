/** Runbook §1.1 "Code review approved by at least 2 reviewers", on the pull request that brought the commit. */
import { type Check, type CheckOutcome, defineCheck } from '@veloz/shared/checks';
import { githubUnavailable, type GithubRepo } from './github-repo';

/** States that change a reviewer's verdict; a later comment leaves an approval standing, as on GitHub. */
const VERDICTS = new Set(['APPROVED', 'CHANGES_REQUESTED', 'DISMISSED']);

export function reviewsCheck(gh: GithubRepo, minApprovals: number, timeoutMs: number): Check {
  return defineCheck('reviews', 'Code review', timeoutMs, async () => {
    const threshold = `>= ${minApprovals} approvals from reviewers other than the author`;
    const commit = gh.sha.slice(0, 7);
    let pulls;
    try {
      pulls = (
        await gh.octokit.rest.repos.listPullRequestsAssociatedWithCommit({
          owner: gh.owner,
          repo: gh.repo,
          commit_sha: gh.sha,
          per_page: 100,
        })
      ).data;
    } catch (error) {
      return githubUnavailable(`the pull requests of commit ${commit}`, 'pull-requests: read', error);
    }
    // The merged one brought the commit to its branch; an open one is a review still under way.
    const pull = pulls.find((p) => p.merged_at) ?? pulls.find((p) => p.state === 'open');
    if (!pull) {
      return {
        status: 'fail',
        observed: 'no pull request',
        threshold,
        detail: `Commit ${commit} was pushed without a pull request, so nobody reviewed it. Deploy a commit merged through a reviewed pull request.`,
      };
    }
    let reviews;
    try {
      reviews = await gh.octokit.paginate(gh.octokit.rest.pulls.listReviews, {
        owner: gh.owner,
        repo: gh.repo,
        pull_number: pull.number,
        per_page: 100,
      });
    } catch (error) {
      return githubUnavailable(`the reviews of pull request #${pull.number}`, 'pull-requests: read', error);
    }
    return judge(pull, reviews, minApprovals, threshold);
  });
}

interface Review {
  user: { login: string } | null;
  state: string;
  submitted_at?: string;
}

function judge(
  pull: { number: number; html_url: string; user: { login: string } | null },
  reviews: Review[],
  minApprovals: number,
  threshold: string,
): CheckOutcome {
  const author = pull.user?.login;
  const latest = new Map<string, string>();
  // listReviews answers in chronological order: the last verdict of each reviewer stands.
  for (const r of reviews) {
    if (r.user && VERDICTS.has(r.state)) latest.set(r.user.login, r.state);
  }
  const approvers = [...latest].filter(([login, state]) => state === 'APPROVED' && login !== author).map(([l]) => l);
  const blocking = [...latest].filter(([, state]) => state === 'CHANGES_REQUESTED').map(([l]) => l);
  const selfApproved = author !== undefined && latest.get(author) === 'APPROVED';
  const observed = `${approvers.length} approval${approvers.length === 1 ? '' : 's'} on #${pull.number}${
    approvers.length ? ` (${approvers.join(', ')})` : ''
  }${blocking.length ? `, changes requested by ${blocking.join(', ')}` : ''}`;
  const data = { pull: pull.number, url: pull.html_url, approvers, changesRequested: blocking, author };
  if (approvers.length >= minApprovals && blocking.length === 0) return { status: 'pass', observed, threshold, data };
  const why = [
    approvers.length < minApprovals ? `${approvers.length} of the ${minApprovals} approvals needed` : '',
    blocking.length ? `changes requested by ${blocking.join(', ')} (their latest review)` : '',
    selfApproved ? `the author ${author} approving their own pull request does not count` : '',
  ].filter(Boolean);
  return {
    status: 'fail',
    observed,
    threshold,
    detail: `Pull request #${pull.number} (${pull.html_url}): ${why.join('; ')}. Get the reviews on it, then re-run this job.`,
    data,
  };
}
