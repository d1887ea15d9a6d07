import { findResource, RESOURCES, type ResourceDef } from './resources';

/** A parsed resource URL: /api/v1/namespaces/veloz/pods/x/log → pods, veloz, x, log. */
export interface ResourceRoute {
  def: ResourceDef;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** Remaining path after a proxy subresource ("/health/ready"). */
  rest?: string;
}

export type Route =
  | { type: 'version' }
  | { type: 'health' }
  | { type: 'coreVersions' }
  | { type: 'groupList' }
  | { type: 'group'; group: string }
  | { type: 'resourceList'; group: string; version: string }
  | { type: 'openapi'; path: string }
  | { type: 'resource'; route: ResourceRoute }
  | { type: 'notFound' };

const namespacedPlurals = (group: string, version: string): Set<string> =>
  new Set(RESOURCES.filter((r) => r.group === group && r.version === version && r.namespaced).map((r) => r.plural));

export function parseRoute(pathname: string): Route {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/version') return { type: 'version' };
  if (
    path === '/healthz' ||
    path === '/livez' ||
    path === '/readyz' ||
    path.startsWith('/healthz/') ||
    path.startsWith('/livez/') ||
    path.startsWith('/readyz/')
  )
    return { type: 'health' };
  if (path.startsWith('/openapi/')) return { type: 'openapi', path };
  const seg = path.split('/').slice(1).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (seg[0] === 'api') {
    if (seg.length === 1) return { type: 'coreVersions' };
    group = '';
    version = seg[1] ?? '';
    rest = seg.slice(2);
  } else if (seg[0] === 'apis') {
    if (seg.length === 1) return { type: 'groupList' };
    if (seg.length === 2) return { type: 'group', group: seg[1] ?? '' };
    group = seg[1] ?? '';
    version = seg[2] ?? '';
    rest = seg.slice(3);
  } else return { type: 'notFound' };
  if (rest.length === 0) return { type: 'resourceList', group, version };

  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && namespacedPlurals(group, version).has(rest[2] ?? '')) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const def = findResource(group, version, rest[0] ?? '');
  if (!def) return { type: 'notFound' };
  if (namespace !== undefined && !def.namespaced) return { type: 'notFound' };
  const route: ResourceRoute = { def, ...(namespace !== undefined ? { namespace } : {}) };
  if (rest.length >= 2) route.name = rest[1];
  if (rest.length >= 3) {
    route.subresource = rest[2];
    if (!def.subresources.includes(rest[2] ?? '')) return { type: 'notFound' };
    if (rest[2] === 'proxy') {
      // The proxied path keeps its original (still-encoded) form.
      const marker = `/${rest[1]}/proxy`;
      const at = pathname.indexOf(marker);
      route.rest = at >= 0 ? pathname.slice(at + marker.length) || '/' : `/${rest.slice(3).join('/')}`;
    } else if (rest.length > 3) return { type: 'notFound' };
  }
  // Namespaced resources addressed without a namespace only support cross-namespace list/watch.
  if (def.namespaced && namespace === undefined && route.name !== undefined) return { type: 'notFound' };
  return { type: 'resource', route };
}
