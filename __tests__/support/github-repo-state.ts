/**
 * The repository state behind the GitHub double's read endpoints (the preflight's code-quality and
 * notice checks): tests set check runs, statuses, pull requests with reviews, alerts, releases and
 * issues; the handlers filter them as GitHub does and build each body from GitHub's schema.
 */
import type { GithubApiDescription, JsonSchema } from './github-openapi';
import { sampleOf, withFields } from './github-samples';

export interface CheckRunState {
  sha: string;
  name: string;
  status: 'queued' | 'in_progress' | 'completed';
  conclusion?: 'success' | 'failure' | 'neutral' | 'cancelled' | 'skipped' | 'timed_out' | 'action_required';
  /** Defaults to a link into another workflow run. */
  html_url?: string;
}
export interface StatusState {
  sha: string;
  context: string;
  state: 'error' | 'failure' | 'pending' | 'success';
  target_url?: string;
}
export interface ReviewState {
  user: string;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED';
}
export interface PullState {
  number: number;
  author: string;
  /** Commits the pull request holds (the merge commit included once merged). */
  shas: string[];
  merged: boolean;
  reviews: ReviewState[];
}
export interface CodeScanningAlertState {
  number: number;
  ruleId: string;
  securitySeverity: 'low' | 'medium' | 'high' | 'critical' | null;
  state?: 'open' | 'dismissed' | 'fixed';
}
export interface DependabotAlertState {
  number: number;
  ghsa: string;
  package: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  state?: 'open' | 'dismissed' | 'fixed' | 'auto_dismissed';
}
export interface ReleaseState {
  tag: string;
  body: string | null;
}
export interface IssueState {
  number: number;
  title: string;
  body?: string;
  labels: string[];
  createdAt: Date;
  closed?: boolean;
  /** How many times issues/update changed it (the incident ticket's re-runs). */
  updates?: number;
}

export interface RepoState {
  checkRuns: CheckRunState[];
  statuses: StatusState[];
  pulls: PullState[];
  codeScanningAlerts: CodeScanningAlertState[];
  dependabotAlerts: DependabotAlertState[];
  releases: ReleaseState[];
  issues: IssueState[];
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}
type Handler = (path: Record<string, unknown>, query: Record<string, unknown>, body: Record<string, unknown>) => Reply;

export interface ReadContext {
  api: GithubApiDescription;
  base(): string;
  repository: string;
  page<T>(items: T[], query: Record<string, unknown>, path: string): Reply;
  notFound: Reply;
}

export type ReadOperationId =
  | 'checks/list-for-ref'
  | 'repos/get-combined-status-for-ref'
  | 'repos/list-pull-requests-associated-with-commit'
  | 'pulls/list-reviews'
  | 'code-scanning/list-alerts-for-repo'
  | 'dependabot/list-alerts-for-repo'
  | 'repos/get-release-by-tag'
  | 'issues/list-for-repo'
  // the rollback's incident ticket
  | 'issues/create'
  | 'issues/update';

export function readOperations(state: RepoState, c: ReadContext): Record<ReadOperationId, Handler> {
  const { api } = c;
  const body = (id: ReadOperationId): JsonSchema => api.operation(id).operation.responses['200']!;
  const deref = (schema: JsonSchema): JsonSchema =>
    typeof schema.$ref === 'string'
      ? deref(api.definitions[schema.$ref.slice(schema.$ref.lastIndexOf('/') + 1)]!)
      : schema;
  const itemOf = (schema: JsonSchema): JsonSchema => {
    const s = deref(schema);
    return s.type === 'array' ? (s.items as JsonSchema) : s;
  };
  const property = (schema: JsonSchema, name: string): JsonSchema =>
    (deref(schema).properties as Record<string, JsonSchema>)[name]!;
  const make = <T = Record<string, unknown>>(schema: JsonSchema, fields: unknown): T =>
    withFields<T>(sampleOf(schema, api.definitions), fields);
  const user = (login: string): Record<string, unknown> =>
    make({ $ref: 'x/simple-user' }, { login, id: hashId(login), html_url: `https://github.com/${login}` });
  const web = (path: string): string => `https://github.com/${c.repository}/${path}`;
  const repoPath = `/repos/${c.repository}`;
  const list = (query: Record<string, unknown>, key: string): string[] =>
    String(query[key] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);

  const issueBody = (schema: JsonSchema, i: IssueState): Record<string, unknown> =>
    make(schema, {
      number: i.number,
      title: i.title,
      body: i.body ?? null,
      state: i.closed ? 'closed' : 'open',
      created_at: i.createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      labels: i.labels.map((name, n) => ({ id: n + 1, name })),
      html_url: web(`issues/${i.number}`),
      user: user('release-manager'),
    });

  return {
    'checks/list-for-ref': (path) => {
      const runs = state.checkRuns
        .filter((r) => r.sha === path.ref)
        .map((r, i) =>
          make(itemOf(property(body('checks/list-for-ref'), 'check_runs')), {
            id: 3_000_000 + i,
            name: r.name,
            head_sha: r.sha,
            status: r.status,
            conclusion: r.status === 'completed' ? (r.conclusion ?? 'success') : null,
            html_url: r.html_url ?? web(`actions/runs/777/job/${i}`),
            details_url: r.html_url ?? web(`actions/runs/777/job/${i}`),
          }),
        );
      return { status: 200, body: { total_count: runs.length, check_runs: runs } };
    },
    'repos/get-combined-status-for-ref': (path) => {
      const statuses = state.statuses
        .filter((s) => s.sha === path.ref)
        .map((s, i) =>
          make(itemOf(property(body('repos/get-combined-status-for-ref'), 'statuses')), {
            id: 4_000_000 + i,
            context: s.context,
            state: s.state,
            target_url: s.target_url ?? `https://ci.example.com/${s.context}`,
          }),
        );
      const combined = statuses.some((s) => s.state === 'failure' || s.state === 'error')
        ? 'failure'
        : statuses.length === 0 || statuses.some((s) => s.state === 'pending')
          ? 'pending'
          : 'success';
      return {
        status: 200,
        body: make(body('repos/get-combined-status-for-ref'), {
          state: combined,
          statuses,
          sha: path.ref,
          total_count: statuses.length,
        }),
      };
    },
    'repos/list-pull-requests-associated-with-commit': (path, query) => {
      const pulls = state.pulls
        .filter((p) => p.shas.includes(String(path.commit_sha)))
        .map((p) =>
          make(itemOf(body('repos/list-pull-requests-associated-with-commit')), {
            number: p.number,
            state: p.merged ? 'closed' : 'open',
            user: user(p.author),
            merged_at: p.merged ? '2026-01-01T00:00:00Z' : null,
            html_url: web(`pull/${p.number}`),
          }),
        );
      return c.page(pulls, query, `${repoPath}/commits/${String(path.commit_sha)}/pulls`);
    },
    'pulls/list-reviews': (path, query) => {
      const pull = state.pulls.find((p) => p.number === Number(path.pull_number));
      if (!pull) return c.notFound;
      const reviews = pull.reviews.map((r, i) =>
        make(itemOf(body('pulls/list-reviews')), {
          id: 5_000_000 + i,
          user: user(r.user),
          state: r.state,
          submitted_at: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
          html_url: web(`pull/${pull.number}#pullrequestreview-${5_000_000 + i}`),
        }),
      );
      return c.page(reviews, query, `${repoPath}/pulls/${pull.number}/reviews`);
    },
    'code-scanning/list-alerts-for-repo': (_path, query) => {
      const alerts = state.codeScanningAlerts
        .filter((a) => !query.state || (a.state ?? 'open') === query.state)
        .map((a) =>
          make(itemOf(body('code-scanning/list-alerts-for-repo')), {
            number: a.number,
            state: a.state ?? 'open',
            html_url: web(`security/code-scanning/${a.number}`),
            rule: { id: a.ruleId, name: a.ruleId, security_severity_level: a.securitySeverity, severity: 'error' },
          }),
        );
      return c.page(alerts, query, `${repoPath}/code-scanning/alerts`);
    },
    'dependabot/list-alerts-for-repo': (_path, query) => {
      const severities = list(query, 'severity');
      const states = list(query, 'state');
      const alerts = state.dependabotAlerts
        .filter(
          (a) =>
            (!states.length || states.includes(a.state ?? 'open')) &&
            (!severities.length || severities.includes(a.severity)),
        )
        .map((a) => {
          const schema = itemOf(body('dependabot/list-alerts-for-repo'));
          const sample = make(schema, {});
          return withFields(sample, {
            number: a.number,
            state: a.state ?? 'open',
            html_url: web(`security/dependabot/${a.number}`),
            dependency: { package: { ecosystem: 'npm', name: a.package } },
            security_advisory: { ghsa_id: a.ghsa, severity: a.severity },
            security_vulnerability: { severity: a.severity, package: { ecosystem: 'npm', name: a.package } },
          });
        });
      return { status: 200, body: alerts };
    },
    'repos/get-release-by-tag': (path) => {
      const release = state.releases.find((r) => r.tag === path.tag);
      if (!release) return c.notFound;
      return {
        status: 200,
        body: make(body('repos/get-release-by-tag'), {
          tag_name: release.tag,
          name: release.tag,
          body: release.body,
          draft: false,
          prerelease: false,
          html_url: web(`releases/tag/${release.tag}`),
          author: user('release-manager'),
        }),
      };
    },
    'issues/list-for-repo': (_path, query) => {
      const labels = list(query, 'labels');
      const wanted = String(query.state ?? 'open');
      const issues = state.issues
        .filter((i) => labels.every((l) => i.labels.includes(l)))
        .filter((i) => wanted === 'all' || (wanted === 'closed') === !!i.closed)
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
        .map((i) => issueBody(itemOf(body('issues/list-for-repo')), i));
      return c.page(issues, query, `${repoPath}/issues`);
    },
    'issues/create': (_path, _query, request) => {
      const labels = ((request.labels ?? []) as (string | { name?: string })[]).map((l) =>
        typeof l === 'string' ? l : (l.name ?? ''),
      );
      const issue: IssueState = {
        number: Math.max(0, ...state.issues.map((i) => i.number)) + 1,
        title: String(request.title),
        body: typeof request.body === 'string' ? request.body : undefined,
        labels,
        createdAt: new Date(),
      };
      state.issues.push(issue);
      return { status: 201, body: issueBody(api.operation('issues/create').operation.responses['201']!, issue) };
    },
    'issues/update': (path, _query, request) => {
      const issue = state.issues.find((i) => i.number === Number(path.issue_number));
      if (!issue) return c.notFound;
      if (typeof request.title === 'string') issue.title = request.title;
      if (typeof request.body === 'string') issue.body = request.body;
      if (request.state === 'closed' || request.state === 'open') issue.closed = request.state === 'closed';
      issue.updates = (issue.updates ?? 0) + 1;
      return { status: 200, body: issueBody(body('issues/update'), issue) };
    },
  };
}

function hashId(text: string): number {
  let h = 7;
  for (const ch of text) h = (h * 31 + ch.charCodeAt(0)) % 1_000_000_007;
  return h;
}
