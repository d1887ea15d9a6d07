/**
 * The preflight's GitHub checks (ci, reviews, security, release-notes, notice) against the loopback
 * GitHub double, which holds every request and response to GitHub's OpenAPI description: each passes on
 * a good repository state and fails, naming what and where, on the states runbook §1.1 forbids.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { runInfoFromEnv } from '@veloz/shared/action';
import type { Clock } from '@veloz/shared/clock';
import { ciCheck } from '../../actions/preflight/src/checks/ci';
import { githubRepo, type GithubRepo } from '../../actions/preflight/src/checks/github-repo';
import { noticeCheck } from '../../actions/preflight/src/checks/notice';
import { releaseNotesCheck } from '../../actions/preflight/src/checks/release-notes';
import { reviewsCheck } from '../../actions/preflight/src/checks/reviews';
import { securityCheck } from '../../actions/preflight/src/checks/security';
import { startGithubDouble, type GithubDouble } from '../support/github-double';
import type { RepoState } from '../support/github-repo-state';
import { expectNoStack, runCheck } from './helpers';

const TOKEN = 'ghs_Pr3flightChecksT0kenPr3flightChecks';
const SHA = '0123456789abcdef0123456789abcdef01234567';
const VERSION = '1.1.0';
const NOW = Date.parse('2026-02-23T12:00:00Z');
const HOUR = 3_600_000;
const clock: Clock = { now: () => NOW, sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 5))) };

let github: GithubDouble;
let gh: GithubRepo;
beforeEach(async () => {
  github = await startGithubDouble({ token: TOKEN });
  Object.assign(github.state, goodState());
  gh = await repoClient();
});
const repoClient = (requestTimeoutMs?: number) =>
  githubRepo(
    TOKEN,
    {
      ...runInfoFromEnv({ GITHUB_REPOSITORY: 'veloz/veloz', GITHUB_RUN_ID: '999', GITHUB_REF: 'refs/heads/main' }),
      apiUrl: github.url,
    },
    SHA,
    requestTimeoutMs,
  );
afterEach(async () => {
  expect(github.violations).toEqual([]);
  await github.stop();
});

function goodState(): RepoState {
  return {
    checkRuns: [
      { sha: SHA, name: 'test', status: 'completed', conclusion: 'success' },
      { sha: SHA, name: 'benchmarks', status: 'completed', conclusion: 'success' },
      { sha: SHA, name: 'lint', status: 'completed', conclusion: 'skipped' },
      // this workflow run's own preflight job: in progress, and not a CI result
      {
        sha: SHA,
        name: 'preflight',
        status: 'in_progress',
        html_url: 'https://github.com/veloz/veloz/actions/runs/999/job/1',
      },
      // another commit's red run is not ours
      { sha: 'f'.repeat(40), name: 'test', status: 'completed', conclusion: 'failure' },
    ],
    statuses: [{ sha: SHA, context: 'ci/coverage', state: 'success' }],
    pulls: [
      {
        number: 42,
        author: 'alice',
        shas: [SHA],
        merged: true,
        reviews: [
          { user: 'bob', state: 'COMMENTED' },
          { user: 'bob', state: 'APPROVED' },
          { user: 'carol', state: 'CHANGES_REQUESTED' },
          { user: 'carol', state: 'APPROVED' },
          { user: 'bob', state: 'COMMENTED' },
        ],
      },
    ],
    codeScanningAlerts: [
      { number: 1, ruleId: 'js/log-injection', securitySeverity: 'medium' },
      { number: 2, ruleId: 'js/sql-injection', securitySeverity: 'critical', state: 'fixed' },
    ],
    dependabotAlerts: [{ number: 3, ghsa: 'GHSA-aaaa-bbbb-cccc', package: 'left-pad', severity: 'low' }],
    releases: [{ tag: 'v1.1.0', body: '## Changes\n- faster order routing' }],
    issues: [
      {
        number: 7,
        title: 'Deploy v1.1.0 to production on Monday',
        labels: ['deploy-notice'],
        createdAt: new Date(NOW - 25 * HOUR),
      },
      { number: 8, title: 'Deploy 1.1.0 (late)', labels: ['question'], createdAt: new Date(NOW - 48 * HOUR) },
    ],
  };
}

const ci = (required: string[] = ['test', 'benchmarks']) => runCheck(ciCheck(gh, required, 10_000), { clock });
const reviews = () => runCheck(reviewsCheck(gh, 2, 10_000), { clock });
const security = () => runCheck(securityCheck(gh, 'high', 10_000), { clock });
const notes = () => runCheck(releaseNotesCheck({ version: VERSION, gh, timeoutMs: 10_000 }), { clock });
const notice = (overrideReason?: string) =>
  runCheck(
    noticeCheck({ gh, version: VERSION, hours: 24, label: 'deploy-notice', overrideReason, timeoutMs: 10_000 }),
    {
      clock,
    },
  );

test('a good repository state passes every GitHub check', async () => {
  const outcomes = {
    ci: await ci(),
    reviews: await reviews(),
    security: await security(),
    notes: await notes(),
    notice: await notice(),
  };
  for (const [name, o] of Object.entries(outcomes))
    expect([name, o.status, o.detail]).toEqual([name, 'pass', undefined]);
  expect(outcomes.ci.observed).toBe('4/4 passed');
  expect(outcomes.reviews.observed).toBe('2 approvals on #42 (bob, carol)');
  expect(outcomes.notice.observed).toBe('#7 announced 25.0 h ago');
  expect(github.requests.filter((r) => r.authScheme !== 'token' || ![200, 404].includes(r.status))).toEqual([]);
});

describe('ci', () => {
  test('one red check run fails, named with its link', async () => {
    github.state.checkRuns.push({
      sha: SHA,
      name: 'e2e',
      status: 'completed',
      conclusion: 'failure',
      html_url: 'https://github.com/veloz/veloz/actions/runs/5/job/9',
    });
    const o = await ci();
    expect(o.status).toBe('fail');
    expect(o.detail).toContain('Failed: e2e (https://github.com/veloz/veloz/actions/runs/5/job/9)');
    expect(o.data).toMatchObject({ failed: ['e2e'], pending: [] });
    expectNoStack(o);
  });

  test('one pending status fails as still running', async () => {
    github.state.statuses.push({
      sha: SHA,
      context: 'ci/integration',
      state: 'pending',
      target_url: 'https://ci.example.com/i/1',
    });
    const o = await ci();
    expect(o.status).toBe('fail');
    expect(o.detail).toContain('Still running: ci/integration (https://ci.example.com/i/1)');
    expect(o.detail).toContain('Wait for them');
  });

  test('a missing required check (the benchmark job) fails', async () => {
    github.state.checkRuns = github.state.checkRuns.filter((r) => r.name !== 'benchmarks');
    const o = await ci();
    expect(o.status).toBe('fail');
    expect(o.detail).toContain('Required but never reported: benchmarks');
    expect(o.threshold).toContain('required: test, benchmarks');
  });

  test('a GitHub API that never answers fails the check at the request deadline, naming the call', async () => {
    github.stall('checks/list-for-ref');
    // a 1 s request deadline instead of GitHub's 10 s: the same code path, without the wait
    const o = await runCheck(ciCheck(await repoClient(1_000), ['test', 'benchmarks'], 10_000), { clock });
    expect(o.status).toBe('fail');
    expect(o.detail).toMatch(
      /did not answer GET http:\/\/127\.0\.0\.1:\d+\/repos\/veloz\/veloz\/commits\/\w+\/check-runs\S* within 1 s/,
    );
    github.resume();
  }, 60_000);

  test('a commit no CI ran on fails', async () => {
    github.state.checkRuns = [];
    github.state.statuses = [];
    expect((await ci([])).observed).toBe('no checks');
  });
});

describe('reviews', () => {
  test('one approval only fails', async () => {
    github.state.pulls[0]!.reviews = [{ user: 'bob', state: 'APPROVED' }];
    const o = await reviews();
    expect(o.status).toBe('fail');
    expect(o.detail).toContain('1 of the 2 approvals needed');
    expect(o.detail).toContain('https://github.com/veloz/veloz/pull/42');
  });

  test('an approval withdrawn by a later "changes requested" does not count', async () => {
    github.state.pulls[0]!.reviews.push({ user: 'carol', state: 'CHANGES_REQUESTED' });
    const o = await reviews();
    expect(o.status).toBe('fail');
    expect(o.observed).toBe('1 approval on #42 (bob), changes requested by carol');
  });

  test('the author approving their own pull request does not count', async () => {
    github.state.pulls[0]!.reviews = [
      { user: 'bob', state: 'APPROVED' },
      { user: 'alice', state: 'APPROVED' },
    ];
    const o = await reviews();
    expect(o.status).toBe('fail');
    expect(o.detail).toContain('the author alice approving their own pull request does not count');
  });

  test('a commit pushed without a pull request fails saying so', async () => {
    github.state.pulls = [];
    const o = await reviews();
    expect([o.status, o.observed]).toEqual(['fail', 'no pull request']);
    expect(o.detail).toContain('pushed without a pull request');
  });
});

describe('security', () => {
  test('a high code-scanning alert fails, named with its link', async () => {
    github.state.codeScanningAlerts.push({ number: 9, ruleId: 'js/path-injection', securitySeverity: 'high' });
    const o = await security();
    expect(o.status).toBe('fail');
    expect(o.detail).toContain('js/path-injection #9 [high] (https://github.com/veloz/veloz/security/code-scanning/9)');
  });

  test('a critical Dependabot alert fails', async () => {
    github.state.dependabotAlerts.push({
      number: 11,
      ghsa: 'GHSA-xxxx-yyyy-zzzz',
      package: 'ws',
      severity: 'critical',
    });
    const o = await security();
    expect(o.status).toBe('fail');
    expect(o.detail).toContain('GHSA-xxxx-yyyy-zzzz in ws #11 [critical]');
  });

  test('a 403 from the alerts API fails naming the permission and the setting', async () => {
    github.fail('code-scanning/list-alerts-for-repo', 403, 'Resource not accessible by integration');
    const o = await security();
    expect(o.status).toBe('fail');
    expect(o.detail).toContain('code scanning alerts could not be read: Resource not accessible by integration');
    expect(o.detail).toContain('`security-events: read`');
    expect(o.detail).toContain('turn on code scanning');
    expectNoStack(o);
  });
});

describe('release-notes', () => {
  test('a release without notes fails', async () => {
    github.state.releases = [{ tag: 'v1.1.0', body: '  ' }];
    const o = await notes();
    expect(o.status).toBe('fail');
    expect(o.detail).toContain('https://github.com/veloz/veloz/releases/tag/v1.1.0');
  });

  test('no release for the version fails naming the tags looked for', async () => {
    github.state.releases = [{ tag: 'v1.0.0', body: 'old' }];
    const o = await notes();
    expect([o.status, o.observed]).toEqual(['fail', 'no release']);
    expect(o.detail).toContain('1.1.0 or v1.1.0');
  });
});

describe('notice', () => {
  test('a notice 23 hours old fails, saying when the deploy may start', async () => {
    github.state.issues[0]!.createdAt = new Date(NOW - 23 * HOUR);
    const o = await notice();
    expect(o.status).toBe('fail');
    expect(o.observed).toBe('#7 announced 23.0 h ago');
    expect(o.detail).toContain('earliest deploy is 2026-02-23 13:00 UTC');
  });

  test('an override reason turns it into a recorded warning', async () => {
    github.state.issues = [];
    const o = await notice('hotfix for incident 231');
    expect(o.status).toBe('warn');
    expect(o.data).toEqual({ override: 'hotfix for incident 231' });
  });
});
