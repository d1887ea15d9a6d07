/**
 * HTTPRoute semantics the sandbox gateway applies per request, as the Gateway API specifies them:
 * which rule matches (precedence across every attached route), which backendRef a weighted draw
 * picks, and what a RequestHeaderModifier filter does to the request headers.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isPlainObject, type JsonObject, type KubeObject } from '../util';

const obj = (v: unknown): JsonObject => (isPlainObject(v) ? v : {});
const arr = (v: unknown): JsonObject[] => (Array.isArray(v) ? v.filter(isPlainObject) : []);

export interface RequestFacts {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
}

export interface RuleMatch {
  route: KubeObject;
  ruleIndex: number;
  rule: JsonObject;
}

export interface BackendRef {
  group: string;
  kind: string;
  name: string;
  namespace: string;
  port?: number;
  weight: number;
}

/** `/admin` matches `/admin` and `/admin/x`, not `/administrator` (element-wise, trailing slash ignored). */
function prefixMatches(prefix: string, path: string): boolean {
  const p = prefix.replace(/\/+$/, '');
  return p === '' || path === p || path.startsWith(`${p}/`);
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Sort key of a match that applies: Exact before prefix, longer prefix first, then method, headers, query. */
function matchRank(m: JsonObject, req: RequestFacts): number[] | undefined {
  const path = obj(m.path);
  const type = String(path.type ?? 'PathPrefix');
  const value = String(path.value ?? '/');
  if (type === 'Exact' ? req.path !== value : type === 'PathPrefix' ? !prefixMatches(value, req.path) : true)
    return undefined;
  if (m.method !== undefined && String(m.method) !== req.method) return undefined;
  const headers = arr(m.headers);
  if (headers.some((h) => headerValue(req.headers, String(h.name)) !== String(h.value))) return undefined;
  const params = arr(m.queryParams);
  if (params.some((q) => req.query.get(String(q.name)) !== String(q.value))) return undefined;
  return [type === 'Exact' ? 1 : 0, value.length, m.method !== undefined ? 1 : 0, headers.length, params.length];
}

interface Candidate {
  rank: number[];
  /** Route age, `namespace/name`, rule index: the spec's tie-breakers, ascending. */
  tie: [string, string, number];
  hit: RuleMatch;
}

const compare = (a: Candidate, b: Candidate): number => {
  for (let i = 0; i < a.rank.length; i++) {
    const d = (b.rank[i] ?? 0) - (a.rank[i] ?? 0);
    if (d !== 0) return d;
  }
  const [ta, tb] = [a.tie, b.tie];
  return ta[0].localeCompare(tb[0]) || ta[1].localeCompare(tb[1]) || ta[2] - tb[2];
};

/**
 * The rule a request goes to: the most specific matching match across all routes; ties go to the
 * oldest route, then `namespace/name` order, then the first rule in list order.
 */
export function matchRule(routes: KubeObject[], req: RequestFacts): RuleMatch | undefined {
  const candidates: Candidate[] = [];
  for (const route of routes) {
    const key = `${route.metadata.namespace ?? ''}/${route.metadata.name ?? ''}`;
    arr(obj(route.spec).rules).forEach((rule, ruleIndex) => {
      for (const m of arr(rule.matches)) {
        const rank = matchRank(m, req);
        if (rank)
          candidates.push({
            rank,
            tie: [route.metadata.creationTimestamp ?? '', key, ruleIndex],
            hit: { route, ruleIndex, rule },
          });
      }
    });
  }
  return candidates.sort(compare)[0]?.hit;
}

/** The rule's backendRefs with the API defaults filled in (kind Service, weight 1, the route's namespace). */
export function backendRefsOf(rule: JsonObject, routeNamespace: string): BackendRef[] {
  return arr(rule.backendRefs).map((b) => ({
    group: String(b.group ?? ''),
    kind: String(b.kind ?? 'Service'),
    name: String(b.name ?? ''),
    namespace: String(b.namespace ?? routeNamespace),
    ...(typeof b.port === 'number' ? { port: b.port } : {}),
    weight: typeof b.weight === 'number' ? b.weight : 1,
  }));
}

/** A weighted random draw: a backend with weight w gets w / sum of the weights; weight 0 never. */
export function pickBackend(refs: BackendRef[], random: () => number = Math.random): BackendRef | undefined {
  const total = refs.reduce((n, r) => n + Math.max(0, r.weight), 0);
  if (total <= 0) return undefined;
  let x = random() * total;
  for (const r of refs) {
    if (r.weight <= 0) continue;
    x -= r.weight;
    if (x < 0) return r;
  }
  return refs.filter((r) => r.weight > 0).at(-1);
}

/** Applies the rule's RequestHeaderModifier filters (set, add, remove) to a copy of the headers. */
export function modifyRequestHeaders(rule: JsonObject, headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = { ...headers };
  for (const f of arr(rule.filters)) {
    if (f.type !== 'RequestHeaderModifier') continue;
    const mod = obj(f.requestHeaderModifier);
    for (const h of arr(mod.set)) out[String(h.name).toLowerCase()] = String(h.value);
    for (const h of arr(mod.add)) {
      const key = String(h.name).toLowerCase();
      const prev = out[key];
      out[key] =
        prev === undefined ? String(h.value) : `${Array.isArray(prev) ? prev.join(',') : prev},${String(h.value)}`;
    }
    for (const name of Array.isArray(mod.remove) ? mod.remove : []) delete out[String(name).toLowerCase()];
  }
  return out;
}

/** Whether a route's parentRef names this Gateway (group/kind defaulted, namespace defaulting to the route's). */
export function refersTo(route: KubeObject, gateway: KubeObject): JsonObject | undefined {
  return arr(obj(route.spec).parentRefs).find(
    (p) =>
      String(p.group ?? 'gateway.networking.k8s.io') === 'gateway.networking.k8s.io' &&
      String(p.kind ?? 'Gateway') === 'Gateway' &&
      p.name === gateway.metadata.name &&
      String(p.namespace ?? route.metadata.namespace) === gateway.metadata.namespace,
  );
}
