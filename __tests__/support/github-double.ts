/**
 * A loopback double of the GitHub REST endpoints our records use (list/create deployments, create and
 * list deployment statuses) and the release script uses (immutable-release setting, release by tag,
 * create release), state in memory. Every request is checked against GitHub's published
 * OpenAPI description (bad ones get GitHub's 422 and are recorded as violations) and every response is
 * built to the description and validated before it is sent, so a test that asserts `violations` is
 * empty proves our octokit calls are ones GitHub would accept and answer.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { loadGithubApi, type GithubApiDescription, type OperationValidators } from './github-openapi';
import { readOperations, type RepoState } from './github-repo-state';

const OPERATIONS = [
  'repos/list-deployments',
  'repos/create-deployment',
  'repos/create-deployment-status',
  'repos/list-deployment-statuses',
  'repos/check-immutable-releases',
  'repos/get-release-by-tag',
  'repos/create-release',
  // the preflight's code-quality and notice checks
  'checks/list-for-ref',
  'repos/get-combined-status-for-ref',
  'repos/list-pull-requests-associated-with-commit',
  'pulls/list-reviews',
  'code-scanning/list-alerts-for-repo',
  'dependabot/list-alerts-for-repo',
  'issues/list-for-repo',
  // the rollback's incident ticket
  'issues/create',
  'issues/update',
] as const;
export type OperationId = (typeof OPERATIONS)[number];
const DOCS = 'https://docs.github.com/rest/deployments';

export type DeploymentState = 'error' | 'failure' | 'inactive' | 'pending' | 'success' | 'queued' | 'in_progress';

/** A deployment as the API serves it (`deployment` schema). */
export interface Deployment {
  url: string;
  id: number;
  node_id: string;
  sha: string;
  ref: string;
  task: string;
  payload: Record<string, unknown> | string;
  original_environment: string;
  environment: string;
  description: string | null;
  creator: Record<string, unknown>;
  created_at: string;
  updated_at: string;
  statuses_url: string;
  repository_url: string;
  transient_environment: boolean;
  production_environment: boolean;
  performed_via_github_app: null;
}

/** A deployment status as the API serves it (`deployment-status` schema). */
export interface DeploymentStatus {
  url: string;
  id: number;
  node_id: string;
  state: DeploymentState;
  creator: Record<string, unknown>;
  description: string;
  environment: string;
  target_url: string;
  log_url: string;
  environment_url?: string;
  created_at: string;
  updated_at: string;
  deployment_url: string;
  repository_url: string;
  performed_via_github_app: null;
}

/** A release as the API serves it (`release` schema). */
export interface Release {
  url: string;
  html_url: string;
  assets_url: string;
  upload_url: string;
  tarball_url: string | null;
  zipball_url: string | null;
  id: number;
  node_id: string;
  tag_name: string;
  target_commitish: string;
  name: string | null;
  body: string | null;
  draft: boolean;
  prerelease: boolean;
  immutable: boolean;
  created_at: string;
  published_at: string | null;
  updated_at: string | null;
  author: Record<string, unknown>;
  assets: unknown[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  operationId?: OperationId;
  body?: unknown;
  /** `token` or `bearer` (the credential itself is not kept). */
  authScheme?: string;
  /** The status answered; 0 while unanswered (see stall). */
  status: number;
}

export interface Violation {
  kind: 'request' | 'response' | 'auth' | 'route';
  method: string;
  path: string;
  operationId?: OperationId;
  errors: string[];
}

export interface GithubDouble {
  /** API base URL (what GITHUB_API_URL is set to). */
  url: string;
  requests: RecordedRequest[];
  violations: Violation[];
  /** Deployments oldest first, each with its statuses oldest first (copies). */
  deployments(): (Deployment & { statuses: DeploymentStatus[] })[];
  /** Releases oldest first (copies). */
  releases(): Release[];
  /** Accept these operations' requests (all when none given) and never answer: a hung API. */
  stall(...operationIds: OperationId[]): void;
  /** Answer again. */
  resume(): void;
  /** How the OpenAPI description was loaded. */
  api: { version: string; loadMs: number; fromCache: boolean };
  /** Check runs, statuses, pull requests, alerts, releases and issues the read endpoints serve (mutable). */
  state: RepoState;
  /** Answer this operation with an error (e.g. 403 from the alerts API) until resumed. */
  fail(operationId: OperationId, status: number, message: string): void;
  stop(): Promise<void>;
}

export interface GithubDoubleOptions {
  /** The only credential accepted, as `Authorization: token …` or `Bearer …`. */
  token: string;
  /** owner/name served; other repositories answer 404. */
  repository?: string;
  /** The repository's "Release immutability" setting (GitHub's default: off). */
  immutableReleases?: boolean;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

let description: Promise<GithubApiDescription> | undefined;

export async function startGithubDouble(options: GithubDoubleOptions): Promise<GithubDouble> {
  // one load per test file (module instance); the extract itself is cached on disk
  description ??= loadGithubApi(OPERATIONS, ['basic-error', 'validation-error']);
  const api = await description;
  const repository = options.repository ?? 'veloz/veloz';
  const requests: RecordedRequest[] = [];
  const violations: Violation[] = [];
  const deployments: Deployment[] = [];
  const statuses = new Map<number, DeploymentStatus[]>();
  const releases: Release[] = [];
  let nextReleaseId = 3_000_000_001;
  let nextDeploymentId = 1_000_000_001;
  let nextStatusId = 2_000_000_001;
  let base = '';
  let stalled: Set<OperationId> | undefined;
  const failing = new Map<OperationId, { status: number; message: string }>();
  const state: RepoState = {
    checkRuns: [],
    statuses: [],
    pulls: [],
    codeScanningAlerts: [],
    dependabotAlerts: [],
    releases: [],
    issues: [],
  };

  const routes = OPERATIONS.map((id) => {
    const v = api.operation(id);
    const names: string[] = [];
    const pattern = v.operation.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    return { id, v, names, regex: new RegExp(`^${pattern}$`) };
  });

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      violations.push({ kind: 'response', method: req.method ?? '', path: req.url ?? '', errors: [String(error)] });
      if (!res.headersSent) res.writeHead(500).end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', base);
    const method = req.method ?? 'GET';
    const raw = await readBody(req);
    const entry: RecordedRequest = {
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: 0,
    };
    requests.push(entry);
    const violation = (kind: Violation['kind'], errors: string[], operationId?: OperationId): void => {
      violations.push({ kind, method, path: url.pathname, operationId, errors });
    };
    const send = (reply: Reply, v?: OperationValidators): void => {
      entry.status = reply.status;
      const body = reply.body === undefined ? undefined : (JSON.parse(JSON.stringify(reply.body)) as unknown);
      if (body !== undefined) {
        const errors =
          v && String(reply.status) in v.operation.responses
            ? v.response(reply.status, body)
            : api.schema(reply.status === 422 ? 'validation-error' : 'basic-error', body);
        if (errors.length) violation('response', errors, v?.operation.operationId as OperationId | undefined);
      }
      res.writeHead(reply.status, {
        'content-type': 'application/json; charset=utf-8',
        'x-github-api-version-selected': '2022-11-28',
        ...reply.headers,
      });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };

    const auth = /^(token|bearer)\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    entry.authScheme = auth?.[1]?.toLowerCase();
    if (!auth || auth[2] !== options.token) {
      const message = auth ? 'Bad credentials' : 'Requires authentication';
      violation('auth', [`${message} (Authorization: ${auth ? `${auth[1]} <wrong token>` : 'missing'})`]);
      return send({ status: 401, body: { message, documentation_url: 'https://docs.github.com/rest', status: '401' } });
    }

    const route = routes.find((r) => r.v.operation.method === method && r.regex.test(url.pathname));
    if (!route) {
      violation('route', [`the double serves no ${method} ${url.pathname} (not one of its OPERATIONS)`]);
      return send({ status: 404, body: { message: 'Not Found', documentation_url: DOCS, status: '404' } });
    }
    entry.operationId = route.id;
    if (stalled && (stalled.size === 0 || stalled.has(route.id))) return; // status stays 0: never answered
    const fault = failing.get(route.id);
    if (fault) {
      return send(
        {
          status: fault.status,
          body: { message: fault.message, documentation_url: DOCS, status: String(fault.status) },
        },
        route.v,
      );
    }
    const match = route.regex.exec(url.pathname) ?? [];
    const path: Record<string, unknown> = Object.fromEntries(
      route.names.map((n, i) => [n, decodeURIComponent(match[i + 1] ?? '')]),
    );
    const query: Record<string, unknown> = { ...entry.query };

    let body: unknown;
    if (raw.length > 0 || method === 'POST') {
      const type = req.headers['content-type'] ?? '';
      if (!/^application\/json\b/.test(type)) {
        violation('request', [`content-type ${type || '(none)'} is not application/json`], route.id);
        return send({ status: 415, body: { message: 'Unsupported Media Type', documentation_url: DOCS } });
      }
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        violation('request', ['body is not JSON'], route.id);
        return send({ status: 400, body: { message: 'Problems parsing JSON', documentation_url: DOCS } });
      }
      entry.body = body;
    }
    const errors = [...route.v.params('path', path), ...route.v.params('query', query), ...route.v.body(body)];
    if (errors.length) {
      violation('request', errors, route.id);
      return send(invalid(errors), route.v);
    }
    if (`${path.owner}/${path.repo}` !== repository) {
      violation('route', [`repository ${path.owner}/${path.repo} is not ${repository}`], route.id);
      return send({ status: 404, body: { message: 'Not Found', documentation_url: DOCS, status: '404' } });
    }
    const reply = operations[route.id](path, query, body as Record<string, unknown>);
    if (reply.status === 422) violation('request', [JSON.stringify(reply.body)], route.id);
    send(reply, route.v);
  }

  const repoUrl = (): string => `${base}/repos/${repository}`;
  const now = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const page = <T>(items: T[], query: Record<string, unknown>, path: string): Reply => {
    const perPage = Math.min(Number(query.per_page ?? 30), 100);
    const number = Math.max(Number(query.page ?? 1), 1);
    const last = Math.max(Math.ceil(items.length / perPage), 1);
    const link = (p: number, rel: string): string => {
      const params = new URLSearchParams({
        ...(query as Record<string, string>),
        per_page: String(perPage),
        page: String(p),
      });
      return `<${base}${path}?${params}>; rel="${rel}"`;
    };
    const links = number < last ? [link(number + 1, 'next'), link(last, 'last')] : [];
    return {
      status: 200,
      body: items.slice((number - 1) * perPage, number * perPage),
      headers: links.length ? { link: links.join(', ') } : {},
    };
  };
  const find = (id: unknown): Deployment | undefined => deployments.find((d) => d.id === id);
  const notFound: Reply = { status: 404, body: { message: 'Not Found', documentation_url: DOCS, status: '404' } };
  const reads = readOperations(state, { api, base: () => base, repository, page, notFound });

  const operations: Record<
    OperationId,
    (path: Record<string, unknown>, query: Record<string, unknown>, body: Record<string, unknown>) => Reply
  > = {
    'repos/list-deployments': (_path, query) => {
      const filters = (['sha', 'ref', 'task', 'environment'] as const).filter((f) => query[f] !== undefined);
      const matching = deployments.filter((d) => filters.every((f) => d[f] === query[f])).reverse(); // newest first
      return page(matching, query, `/repos/${repository}/deployments`);
    },
    'repos/create-deployment': (_path, _query, body) => {
      const ref = String(body.ref);
      if (!ref.trim()) return invalid([`No ref found for: ${ref}`], 'Deployment', 'ref');
      const environment = typeof body.environment === 'string' ? body.environment : 'production';
      const id = nextDeploymentId++;
      const created = now();
      const deployment: Deployment = {
        url: `${repoUrl()}/deployments/${id}`,
        id,
        node_id: Buffer.from(`04:Deployment${id}`).toString('base64'),
        // a ref that is not a commit SHA resolves to one; ours are SHAs already
        sha: /^[0-9a-f]{40}$/.test(ref) ? ref : createHash('sha1').update(ref).digest('hex'),
        ref,
        task: typeof body.task === 'string' ? body.task : 'deploy',
        payload: parsePayload(body.payload),
        original_environment: environment,
        environment,
        description: body.description === undefined ? '' : (body.description as string | null),
        creator: actionsBot(base),
        created_at: created,
        updated_at: created,
        statuses_url: `${repoUrl()}/deployments/${id}/statuses`,
        repository_url: repoUrl(),
        transient_environment: body.transient_environment === true,
        production_environment:
          typeof body.production_environment === 'boolean' ? body.production_environment : environment === 'production',
        performed_via_github_app: null,
      };
      deployments.push(deployment);
      statuses.set(id, []);
      return { status: 201, body: deployment, headers: { location: deployment.url } };
    },
    'repos/create-deployment-status': (path, _query, body) => {
      const deployment = find(path.deployment_id);
      if (!deployment) return notFound;
      const description = typeof body.description === 'string' ? body.description : '';
      // documented in the operation's text, not its schema
      if (description.length > 140) {
        return invalid(['description is too long (maximum is 140 characters)'], 'DeploymentStatus', 'description');
      }
      const list = statuses.get(deployment.id) ?? [];
      const status = addStatus(deployment, {
        state: body.state as DeploymentState,
        description,
        // "If not defined, the environment of the previous status ... Otherwise, the environment of the deployment"
        environment:
          typeof body.environment === 'string'
            ? body.environment
            : (list.at(-1)?.environment ?? deployment.environment),
        // "Setting log_url will automatically set target_url to the same value."
        target_url: typeof body.log_url === 'string' && body.log_url ? body.log_url : String(body.target_url ?? ''),
        log_url: String(body.log_url ?? ''),
        environment_url: typeof body.environment_url === 'string' ? body.environment_url : undefined,
      });
      if (status.state === 'success' && body.auto_inactive !== false) inactivatePrior(deployment, status.environment);
      return { status: 201, body: status, headers: { location: status.url } };
    },
    ...reads,
    'repos/list-deployment-statuses': (path, query) => {
      const deployment = find(path.deployment_id);
      if (!deployment) return notFound;
      const list = [...(statuses.get(deployment.id) ?? [])].reverse(); // newest first
      return page(list, query, `/repos/${repository}/deployments/${deployment.id}/statuses`);
    },
    // "404: Not Found if immutable releases are not enabled for the repository"
    'repos/check-immutable-releases': () =>
      options.immutableReleases ? { status: 200, body: { enabled: true, enforced_by_owner: false } } : notFound,
    // releases the release script created, else the ones a preflight test set in the repository state
    'repos/get-release-by-tag': (path, query) => {
      const found = releases.find((r) => r.tag_name === path.tag);
      return found ? { status: 200, body: found } : reads['repos/get-release-by-tag'](path, query, {});
    },
    'repos/create-release': (_path, _query, body) => createRelease(body),
  };

  function createRelease(body: Record<string, unknown>): Reply {
    const tag = String(body.tag_name);
    if (releases.some((r) => r.tag_name === tag)) {
      return {
        status: 422,
        body: {
          message: 'Validation Failed',
          errors: [{ resource: 'Release', code: 'already_exists', field: 'tag_name' }],
          documentation_url: 'https://docs.github.com/rest/releases/releases#create-a-release',
          status: '422',
        },
      };
    }
    const id = nextReleaseId++;
    const created = now();
    const draft = body.draft === true;
    const web = `${base}/${repository}`; // github.com's place for the release page
    const release: Release = {
      url: `${repoUrl()}/releases/${id}`,
      html_url: `${web}/releases/tag/${encodeURIComponent(tag)}`,
      assets_url: `${repoUrl()}/releases/${id}/assets`,
      upload_url: `${repoUrl()}/releases/${id}/assets{?name,label}`,
      tarball_url: `${repoUrl()}/tarball/${encodeURIComponent(tag)}`,
      zipball_url: `${repoUrl()}/zipball/${encodeURIComponent(tag)}`,
      id,
      node_id: Buffer.from(`07:Release${id}`).toString('base64'),
      tag_name: tag,
      target_commitish: typeof body.target_commitish === 'string' ? body.target_commitish : 'main',
      name: typeof body.name === 'string' ? body.name : tag,
      body: typeof body.body === 'string' ? body.body : null,
      draft,
      prerelease: body.prerelease === true,
      // a published release in a repository with the setting on is immutable; a draft is not yet
      immutable: options.immutableReleases === true && !draft,
      created_at: created,
      published_at: draft ? null : created,
      updated_at: created,
      author: actionsBot(base),
      assets: [],
    };
    releases.push(release);
    return { status: 201, body: release, headers: { location: release.url } };
  }

  function addStatus(
    deployment: Deployment,
    fields: Pick<DeploymentStatus, 'state' | 'description' | 'environment' | 'target_url' | 'log_url'> & {
      environment_url?: string;
    },
  ): DeploymentStatus {
    const id = nextStatusId++;
    const created = now();
    const { environment_url, ...rest } = fields;
    const status: DeploymentStatus = {
      url: `${repoUrl()}/deployments/${deployment.id}/statuses/${id}`,
      id,
      node_id: Buffer.from(`010:DeploymentStatus${id}`).toString('base64'),
      ...rest,
      ...(environment_url ? { environment_url } : {}),
      creator: actionsBot(base),
      created_at: created,
      updated_at: created,
      deployment_url: deployment.url,
      repository_url: repoUrl(),
      performed_via_github_app: null,
    };
    statuses.get(deployment.id)?.push(status);
    deployment.updated_at = created;
    return status;
  }

  /**
   * auto_inactive: "Adds a new inactive status to all prior non-transient, non-production environment
   * deployments with the same repository and environment name ... only to deployments that had a
   * success state."
   */
  function inactivatePrior(current: Deployment, environment: string): void {
    for (const d of deployments) {
      if (d.id >= current.id || d.transient_environment || d.production_environment) continue;
      const list = statuses.get(d.id) ?? [];
      const latest = list.at(-1);
      if (d.environment !== environment || latest?.state !== 'success') continue;
      addStatus(d, { state: 'inactive', description: '', environment, target_url: latest.target_url, log_url: '' });
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    violations,
    deployments: () => deployments.map((d) => structuredClone({ ...d, statuses: statuses.get(d.id) ?? [] })),
    releases: () => structuredClone(releases),
    stall: (...ids) => {
      stalled = new Set(ids);
    },
    resume: () => {
      stalled = undefined;
      failing.clear();
    },
    api: { version: api.version, loadMs: api.loadMs, fromCache: api.fromCache },
    state,
    fail: (id, status, message) => {
      failing.set(id, { status, message });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** GitHub's 422 shape (`validation-error`). */
function invalid(messages: string[], resource?: string, field?: string): Reply {
  return {
    status: 422,
    body: {
      message: resource ? 'Validation Failed' : `Invalid request.\n\n${messages.join('\n')}`,
      errors: resource ? messages.map((message) => ({ resource, field, code: 'custom', message })) : undefined,
      documentation_url: DOCS,
      status: '422',
    },
  };
}

/** GitHub stores a JSON-text payload as the object it encodes. */
function parsePayload(payload: unknown): Record<string, unknown> | string {
  if (payload === undefined) return {};
  if (typeof payload !== 'string') return payload as Record<string, unknown>;
  try {
    const parsed = JSON.parse(payload) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : payload;
  } catch {
    return payload;
  }
}

/** The user GITHUB_TOKEN requests appear as (`simple-user`). */
function actionsBot(base: string): Record<string, unknown> {
  const user = `${base}/users/github-actions%5Bbot%5D`;
  return {
    login: 'github-actions[bot]',
    id: 41898282,
    node_id: 'MDM6Qm90NDE4OTgyODI=',
    avatar_url: 'https://avatars.githubusercontent.com/in/15368?v=4',
    gravatar_id: '',
    url: user,
    html_url: 'https://github.com/apps/github-actions',
    followers_url: `${user}/followers`,
    following_url: `${user}/following{/other_user}`,
    gists_url: `${user}/gists{/gist_id}`,
    starred_url: `${user}/starred{/owner}{/repo}`,
    subscriptions_url: `${user}/subscriptions`,
    organizations_url: `${user}/orgs`,
    repos_url: `${user}/repos`,
    events_url: `${user}/events{/privacy}`,
    received_events_url: `${user}/received_events`,
    type: 'Bot',
    site_admin: false,
    user_view_type: 'public',
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
