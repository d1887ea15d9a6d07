/**
 * GITHUB_TOKEN permissions across a reusable-workflow call, as GitHub computes them (docs: "Reusing
 * workflow configurations", "Controlling permissions for GITHUB_TOKEN"):
 *
 * - A job's permissions are its own `permissions:`, else its workflow's top-level `permissions:`, else
 *   the repository's default. Setting any scope sets every unnamed one to `none`; `{}` is all `none`;
 *   `read-all` / `write-all` set every scope; `write` includes `read`.
 * - A job that calls a reusable workflow passes that token to it: the caller job's permissions (or
 *   its workflow's, or the default) are the ceiling. The called workflow "can be only downgraded (not
 *   elevated)": a called job, or the called workflow's top-level block, asking for more makes GitHub
 *   refuse the run ("… is requesting 'issues: write', but is only allowed 'issues: none'").
 * - A called job without `permissions:` takes the called workflow's top-level block, or without one
 *   the caller's token as it is (it asks for nothing more).
 *
 * The repository default may be permissive or restricted; a caller that sets nothing is checked
 * against the restricted one (contents and packages read), the only one a caller can count on.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadWorkflow, ROOT, type Job, type Workflow } from './workflows';

/** The scopes `permissions:` accepts (metadata is always read and cannot be set). */
export const SCOPES = [
  'actions',
  'artifact-metadata',
  'attestations',
  'checks',
  'contents',
  'deployments',
  'discussions',
  'id-token',
  'issues',
  'models',
  'packages',
  'pages',
  'pull-requests',
  'repository-projects',
  'security-events',
  'statuses',
] as const;

export type Scope = (typeof SCOPES)[number];
export type Level = 'none' | 'read' | 'write';
export type Grant = Record<Scope, Level>;

const RANK: Record<Level, number> = { none: 0, read: 1, write: 2 };

export function uniform(level: Level): Grant {
  return Object.fromEntries(SCOPES.map((s) => [s, level])) as Grant;
}

/** The restricted repository default: what a caller that sets no permissions can count on. */
export const RESTRICTED_DEFAULT: Grant = { ...uniform('none'), contents: 'read', packages: 'read' };

/** A `permissions:` value as a full grant; undefined when the key is absent. Throws on what GitHub rejects. */
export function parsePermissions(value: unknown, where: string): Grant | undefined {
  if (value === undefined) return undefined;
  if (value === 'read-all') return uniform('read');
  if (value === 'write-all') return uniform('write');
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(
      `${where}: permissions must be read-all, write-all or a map of scopes, not ${JSON.stringify(value)}`,
    );
  }
  const grant = uniform('none');
  for (const [scope, level] of Object.entries(value)) {
    if (!(SCOPES as readonly string[]).includes(scope)) throw new Error(`${where}: unknown permission scope ${scope}`);
    if (level !== 'none' && level !== 'read' && level !== 'write') {
      throw new Error(`${where}: ${scope} must be read, write or none, not ${JSON.stringify(level)}`);
    }
    grant[scope as Scope] = level;
  }
  return grant;
}

/** Only the scopes above none: what a person reads in a failure. */
export function compact(grant: Grant): Partial<Grant> {
  return Object.fromEntries(Object.entries(grant).filter(([, level]) => level !== 'none')) as Partial<Grant>;
}

function max(a: Grant, b: Grant): Grant {
  return Object.fromEntries(SCOPES.map((s) => [s, RANK[a[s]] >= RANK[b[s]] ? a[s] : b[s]])) as Grant;
}

/** `./.github/workflows/x.yml` or `veloz/deploy-actions/.github/workflows/x.yml@ref`: the file in this repository. */
export function localReusable(uses: string | undefined): string | undefined {
  const m =
    /^\.\/(\.github\/workflows\/[^@/]+\.ya?ml)$/.exec(uses ?? '') ??
    /^veloz\/deploy-actions\/(\.github\/workflows\/[^@/]+\.ya?ml)@\S+$/.exec(uses ?? '');
  return m?.[1];
}

export type Load = (path: string) => Workflow;

export const loadLocal: Load = (path) => {
  if (!existsSync(join(ROOT, path))) throw new Error(`reusable workflow ${path} does not exist in this repository`);
  return loadWorkflow(path);
};

export interface Effective {
  grant: Grant;
  /** Where it comes from, for the failure message. */
  source: string;
}

/** What a job's token holds: its own block, its workflow's, or (when neither is set) `inherited`. */
export function effective(workflow: Workflow, name: string, where: string, inherited: Effective): Effective {
  const job = workflow.jobs[name]!;
  const own = parsePermissions(job.permissions, `${where} job ${name}`);
  if (own) return { grant: own, source: `job ${name} permissions` };
  const top = parsePermissions(workflow.permissions, where);
  if (top) return { grant: top, source: `${where} workflow-level permissions` };
  return inherited;
}

/** A calling job's grant: its permissions, else its workflow's, else the (restricted) repository default. */
export function callerGrant(workflow: Workflow, name: string, where: string): Effective {
  return effective(workflow, name, where, {
    grant: RESTRICTED_DEFAULT,
    source: 'the repository default (assumed restricted: contents and packages read)',
  });
}

export interface Violation {
  /** The calling chain, e.g. `examples/deploy.yml job production`. */
  caller: string;
  called: string;
  /** The called job, or `(workflow level)` for the called workflow's top-level block. */
  job: string;
  scope: Scope;
  granted: Level;
  requested: Level;
  grantedBy: string;
}

export function explain(v: Violation): string {
  return (
    `${v.caller} calls ${v.called}: its ${v.job} requests '${v.scope}: ${v.requested}', ` +
    `but the caller grants only '${v.scope}: ${v.granted}' (${v.grantedBy})`
  );
}

interface Request {
  job: string;
  grant: Grant;
}

/** What a called workflow asks for: its top-level block, and each job's own block. */
function requests(workflow: Workflow, where: string): Request[] {
  const out: Request[] = [];
  const top = parsePermissions(workflow.permissions, where);
  if (top) out.push({ job: '(workflow level)', grant: top });
  for (const [name, job] of Object.entries(workflow.jobs)) {
    const own = parsePermissions(job.permissions, `${where} job ${name}`);
    if (own) out.push({ job: `job ${name}`, grant: own });
  }
  return out;
}

/** Every violation of `cap` by the workflow `called` (and by the local workflows it calls in turn). */
export function checkCalled(caller: string, cap: Effective, called: string, load: Load = loadLocal): Violation[] {
  const workflow = load(called);
  const out: Violation[] = [];
  for (const request of requests(workflow, called)) {
    for (const scope of SCOPES) {
      if (RANK[request.grant[scope]] > RANK[cap.grant[scope]]) {
        out.push({
          caller,
          called,
          job: request.job,
          scope,
          granted: cap.grant[scope],
          requested: request.grant[scope],
          grantedBy: cap.source,
        });
      }
    }
  }
  for (const [name, job] of Object.entries(workflow.jobs)) {
    const next = localReusable(job.uses);
    if (!next) continue;
    // A nested call's ceiling is what its job holds; where that exceeds `cap` it is reported above.
    const own = effective(workflow, name, called, cap);
    const narrowed = { grant: minimum(own.grant, cap.grant), source: own === cap ? cap.source : own.source };
    out.push(...checkCalled(`${caller} → ${called} job ${name}`, narrowed, next, load));
  }
  return out;
}

function minimum(a: Grant, b: Grant): Grant {
  return Object.fromEntries(SCOPES.map((s) => [s, RANK[a[s]] <= RANK[b[s]] ? a[s] : b[s]])) as Grant;
}

/** Every violation by the jobs of `file` that call a local reusable workflow. */
export function checkCaller(file: string, workflow: Workflow, load: Load = loadLocal): Violation[] {
  return Object.entries(workflow.jobs).flatMap(([name, job]) => {
    const called = localReusable(job.uses);
    return called ? checkCalled(`${file} job ${name}`, callerGrant(workflow, name, file), called, load) : [];
  });
}

/** The least a caller must grant: the maximum of every block the called workflow (and what it calls) requests. */
export function requiredGrant(called: string, load: Load = loadLocal): Grant {
  const workflow = load(called);
  let need = requests(workflow, called).reduce((acc, r) => max(acc, r.grant), uniform('none'));
  for (const job of Object.values(workflow.jobs)) {
    const next = localReusable(job.uses);
    if (next && job.permissions === undefined && workflow.permissions === undefined) {
      need = max(need, requiredGrant(next, load));
    }
  }
  return need;
}

/** The jobs of `workflow` that call a local reusable workflow. */
export function callingJobs(workflow: Workflow): Array<[string, Job]> {
  return Object.entries(workflow.jobs).filter(([, job]) => localReusable(job.uses));
}
