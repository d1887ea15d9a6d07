/** Runbook §1.3 "24 hours advance notice to stakeholders": a labelled issue announcing the version. */
import { type Check, defineCheck } from '@veloz/shared/checks';
import { githubUnavailable, type GithubRepo } from './github-repo';

interface NoticeOptions {
  gh: GithubRepo;
  version: string;
  hours: number;
  label: string;
  overrideReason?: string;
  timeoutMs: number;
}

const HOUR_MS = 3_600_000;

export function noticeCheck(options: NoticeOptions): Check {
  return defineCheck('notice', 'Advance notice', options.timeoutMs, async ({ clock }) => {
    const threshold = `issue labelled ${options.label} naming ${options.version}, >= ${options.hours} h old`;
    let issues;
    try {
      issues = await options.gh.octokit.paginate(options.gh.octokit.rest.issues.listForRepo, {
        owner: options.gh.owner,
        repo: options.gh.repo,
        labels: options.label,
        state: 'all',
        sort: 'created',
        direction: 'desc',
        per_page: 100,
      });
    } catch (error) {
      return githubUnavailable(`issues labelled ${options.label}`, 'issues: read', error);
    }
    const naming = issues
      .filter((i) => !i.pull_request && namesVersion(`${i.title}\n${i.body ?? ''}`, options.version))
      .map((i) => ({ url: i.html_url, number: i.number, ageMs: clock.now() - Date.parse(i.created_at) }))
      .sort((a, b) => b.ageMs - a.ageMs);
    const oldest = naming[0];
    const needMs = options.hours * HOUR_MS;
    const hours = (ms: number): string => `${(ms / HOUR_MS).toFixed(1)} h`;
    if (oldest && oldest.ageMs >= needMs) {
      return {
        status: 'pass',
        observed: `#${oldest.number} announced ${hours(oldest.ageMs)} ago`,
        threshold,
        data: { url: oldest.url },
      };
    }
    const observed = oldest ? `#${oldest.number} announced ${hours(oldest.ageMs)} ago` : 'no announcement';
    const why = oldest
      ? `The announcement ${oldest.url} is ${hours(oldest.ageMs)} old; stakeholders get ${options.hours} h notice, so the earliest deploy is ${new Date(clock.now() + needMs - oldest.ageMs).toISOString().slice(0, 16).replace('T', ' ')} UTC.`
      : `No issue labelled ${options.label} names ${options.version}. Open one announcing it (\`gh issue create --label ${options.label} --title "Deploy ${options.version}"\`) ${options.hours} h ahead.`;
    const override = options.overrideReason?.trim();
    if (override) {
      return {
        status: 'warn',
        observed: `${observed}, OVERRIDDEN`,
        threshold,
        detail: `Advance notice overridden with reason "${override}". ${why}`,
        data: { override },
      };
    }
    return {
      status: 'fail',
      observed,
      threshold,
      detail: `${why} To deploy anyway, set override-reason (it is recorded in the report).`,
    };
  });
}

/** The version as a word of its own, with or without a leading v ("1.1.0" does not match "1.1.01"). */
export function namesVersion(text: string, version: string): boolean {
  const bare = version.replace(/^v/i, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\w.])v?${bare}(?![\\w-]|\\.\\d)`, 'i').test(text);
}
