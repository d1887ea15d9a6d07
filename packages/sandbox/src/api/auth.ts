import { ApiError } from './errors';

/** An RBAC PolicyRule (as in Role/ClusterRole `rules`). */
export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Identity {
  name: string;
  groups: string[];
  /** RBAC rules this token is bound to; undefined allows everything (the default user). */
  rules?: PolicyRule[];
}

export interface RequestAttributes {
  verb: string;
  apiGroup: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  /** For non-resource requests (/version, /healthz). */
  path?: string;
}

/** Accepts a Role/ClusterRole document or a bare list of rules. */
export function rulesFromDocument(doc: unknown): PolicyRule[] {
  const rules = Array.isArray(doc) ? doc : (doc as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules)) throw new Error('RBAC document needs a `rules` list (Role or ClusterRole)');
  return rules as PolicyRule[];
}

const has = (list: string[] | undefined, value: string): boolean =>
  !!list && (list.includes('*') || list.includes(value));

/** What every authenticated user may do (Kubernetes' system:basic-user, system:discovery and public-info-viewer roles). */
const BASELINE: PolicyRule[] = [
  {
    verbs: ['create'],
    apiGroups: ['authorization.k8s.io'],
    resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
  },
  {
    verbs: ['get'],
    nonResourceURLs: [
      '/api',
      '/api/*',
      '/apis',
      '/apis/*',
      '/version',
      '/version/',
      '/healthz',
      '/livez',
      '/readyz',
      '/openapi',
      '/openapi/*',
    ],
  },
];

export function allows(rules: PolicyRule[] | undefined, a: RequestAttributes): boolean {
  if (!rules) return true;
  return [...BASELINE, ...rules].some((r) => {
    if (!has(r.verbs, a.verb)) return false;
    if (a.path !== undefined)
      return (r.nonResourceURLs ?? []).some(
        (u) => u === '*' || u === a.path || (u.endsWith('*') && a.path!.startsWith(u.slice(0, -1))),
      );
    const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    if (!has(r.apiGroups, a.apiGroup)) return false;
    if (!has(r.resources, resource) && !(a.subresource && r.resources?.includes(`*/${a.subresource}`))) return false;
    if (r.resourceNames && r.resourceNames.length > 0) return !!a.name && r.resourceNames.includes(a.name);
    return true;
  });
}

/** The 403 exactly as the Kubernetes RBAC authorizer words it. */
export function forbidden(user: Identity, a: RequestAttributes): ApiError {
  if (a.path !== undefined) {
    return new ApiError(403, 'Forbidden', `forbidden: User "${user.name}" cannot ${a.verb} path "${a.path}"`);
  }
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const subject = a.name ? `${a.resource} "${a.name}"` : a.apiGroup ? `${a.resource}.${a.apiGroup}` : a.resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return new ApiError(
    403,
    'Forbidden',
    `${subject} is forbidden: User "${user.name}" cannot ${a.verb} resource "${resource}" in API group "${a.apiGroup}" ${scope}`,
    { ...(a.name ? { name: a.name } : {}), group: a.apiGroup, kind: a.resource },
  );
}

/** Bearer tokens → identities. */
export class Authenticator {
  private readonly tokens = new Map<string, Identity>();

  addToken(token: string, identity: Identity): void {
    this.tokens.set(token, identity);
  }

  removeToken(token: string): void {
    this.tokens.delete(token);
  }

  /** Sets (or with undefined, clears) the RBAC rules enforced for a token. */
  setRules(token: string, rules: PolicyRule[] | undefined): void {
    const id = this.tokens.get(token);
    if (!id) throw new Error('unknown token');
    if (rules) id.rules = rules;
    else delete id.rules;
  }

  authenticate(authorization: string | undefined): Identity | undefined {
    const m = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
    return m ? this.tokens.get((m[1] ?? '').trim()) : undefined;
  }
}
