import { groupVersions, RESOURCES, type ResourceDef } from './resources';

/** GET /version — a recent Kubernetes minor so kubectl 1.31/1.33 and helm 4 see no skew warning. */
export function versionInfo(): Record<string, string> {
  return {
    major: '1',
    minor: '33',
    gitVersion: 'v1.33.0-veloz-sandbox',
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2025-01-01T00:00:00Z',
    goVersion: 'go1.24.0',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

/** GET /api (legacy discovery; clients fall back to it when the aggregated form is not offered). */
export function coreVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupEntry(group: string): Record<string, unknown> {
  const versions = groupVersions()
    .filter((gv) => gv.group === group)
    .map((gv) => ({ groupVersion: `${group}/${gv.version}`, version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

/** GET /apis */
export function apiGroupList(): Record<string, unknown> {
  const groups = [...new Set(groupVersions().map((gv) => gv.group))].filter((g) => g !== '');
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(groupEntry) };
}

/** GET /apis/<group> */
export function apiGroup(group: string): Record<string, unknown> | undefined {
  if (!groupVersions().some((gv) => gv.group === group && group !== '')) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(group) };
}

function subresourceEntry(def: ResourceDef, sub: string): Record<string, unknown> {
  const base = { name: `${def.plural}/${sub}`, singularName: '', namespaced: def.namespaced };
  switch (sub) {
    case 'status':
      return { ...base, kind: def.kind, verbs: ['get', 'patch', 'update'] };
    case 'scale':
      // The scale client resolves the Scale kind from these fields.
      return { ...base, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] };
    case 'log':
      return { ...base, kind: 'Pod', verbs: ['get'] };
    case 'proxy':
      return {
        ...base,
        kind: def.plural === 'pods' ? 'PodProxyOptions' : 'ServiceProxyOptions',
        verbs: ['create', 'delete', 'get', 'patch', 'update'],
      };
    case 'finalize':
      return { ...base, kind: def.kind, verbs: ['update'] };
    default:
      return { ...base, kind: def.kind, verbs: ['get'] };
  }
}

/** GET /api/v1, /apis/<group>/<version> */
export function apiResourceList(group: string, version: string): Record<string, unknown> | undefined {
  const defs = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (defs.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const def of defs) {
    resources.push({
      name: def.plural,
      singularName: def.singular,
      namespaced: def.namespaced,
      kind: def.kind,
      verbs: def.verbs,
      ...(def.shortNames ? { shortNames: def.shortNames } : {}),
      ...(def.categories ? { categories: def.categories } : {}),
    });
    for (const sub of def.subresources) resources.push(subresourceEntry(def, sub));
  }
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: group ? `${group}/${version}` : version,
    resources,
  };
}
