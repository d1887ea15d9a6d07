/** The resource types the sandbox serves, described once for routing, discovery and OpenAPI. */
export interface ResourceDef {
  group: string; // '' for the core group
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs: string[];
  /** Subresources served under /<name>/<sub>. */
  subresources: string[];
  /** Whether metadata.generation tracks spec changes (workload-style resources). */
  tracksGeneration?: boolean;
  /** Whether status is only writable through the /status subresource. */
  statusSubresource?: boolean;
  /**
   * Served as a CustomResourceDefinition would be (the Gateway API kinds): no strategic merge patch,
   * as the API server answers 415 for custom resources.
   */
  custom?: boolean;
}

const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const NO_COLLECTION_DELETE = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

/** A Gateway API kind as its CRD declares it: status subresource, generation, category gateway-api. */
function gatewayApiKind(kind: string, plural: string, namespaced: boolean, shortNames?: string[]): ResourceDef {
  return {
    group: 'gateway.networking.k8s.io',
    version: 'v1',
    kind,
    plural,
    singular: kind.toLowerCase(),
    namespaced,
    ...(shortNames ? { shortNames } : {}),
    categories: ['gateway-api'],
    verbs: ALL_VERBS,
    subresources: ['status'],
    tracksGeneration: true,
    statusSubresource: true,
    custom: true,
  };
}

export const RESOURCES: readonly ResourceDef[] = [
  {
    group: '',
    version: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    singular: 'namespace',
    namespaced: false,
    shortNames: ['ns'],
    verbs: NO_COLLECTION_DELETE,
    subresources: ['status', 'finalize'],
    statusSubresource: true,
  },
  {
    group: '',
    version: 'v1',
    kind: 'Node',
    plural: 'nodes',
    singular: 'node',
    namespaced: false,
    shortNames: ['no'],
    verbs: ALL_VERBS,
    subresources: ['status'],
    statusSubresource: true,
  },
  {
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    singular: 'pod',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    verbs: ALL_VERBS,
    subresources: ['status', 'log', 'proxy'],
    statusSubresource: true,
  },
  {
    group: '',
    version: 'v1',
    kind: 'Service',
    plural: 'services',
    singular: 'service',
    namespaced: true,
    shortNames: ['svc'],
    categories: ['all'],
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: ['status', 'proxy'],
    statusSubresource: true,
  },
  {
    group: '',
    version: 'v1',
    kind: 'Endpoints',
    plural: 'endpoints',
    singular: 'endpoints',
    namespaced: true,
    shortNames: ['ep'],
    verbs: ALL_VERBS,
    subresources: [],
  },
  {
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    plural: 'configmaps',
    singular: 'configmap',
    namespaced: true,
    shortNames: ['cm'],
    verbs: ALL_VERBS,
    subresources: [],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Secret',
    plural: 'secrets',
    singular: 'secret',
    namespaced: true,
    verbs: ALL_VERBS,
    subresources: [],
  },
  {
    group: '',
    version: 'v1',
    kind: 'Event',
    plural: 'events',
    singular: 'event',
    namespaced: true,
    shortNames: ['ev'],
    verbs: ALL_VERBS,
    subresources: [],
  },
  {
    group: '',
    version: 'v1',
    kind: 'ServiceAccount',
    plural: 'serviceaccounts',
    singular: 'serviceaccount',
    namespaced: true,
    shortNames: ['sa'],
    verbs: ALL_VERBS,
    subresources: [],
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    plural: 'deployments',
    singular: 'deployment',
    namespaced: true,
    shortNames: ['deploy'],
    categories: ['all'],
    verbs: ALL_VERBS,
    subresources: ['status', 'scale'],
    tracksGeneration: true,
    statusSubresource: true,
  },
  {
    group: 'apps',
    version: 'v1',
    kind: 'ReplicaSet',
    plural: 'replicasets',
    singular: 'replicaset',
    namespaced: true,
    shortNames: ['rs'],
    categories: ['all'],
    verbs: ALL_VERBS,
    subresources: ['status', 'scale'],
    tracksGeneration: true,
    statusSubresource: true,
  },
  {
    group: 'coordination.k8s.io',
    version: 'v1',
    kind: 'Lease',
    plural: 'leases',
    singular: 'lease',
    namespaced: true,
    verbs: ALL_VERBS,
    subresources: [],
  },
  {
    group: 'autoscaling',
    version: 'v2',
    kind: 'HorizontalPodAutoscaler',
    plural: 'horizontalpodautoscalers',
    singular: 'horizontalpodautoscaler',
    namespaced: true,
    shortNames: ['hpa'],
    categories: ['all'],
    verbs: ALL_VERBS,
    subresources: ['status'],
    tracksGeneration: true,
    statusSubresource: true,
  },
  {
    group: 'networking.k8s.io',
    version: 'v1',
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    singular: 'networkpolicy',
    namespaced: true,
    shortNames: ['netpol'],
    verbs: ALL_VERBS,
    subresources: [],
  },
  // The Gateway API (standard channel v1): CRDs in a real cluster, served natively here.
  gatewayApiKind('GatewayClass', 'gatewayclasses', false, ['gc']),
  gatewayApiKind('Gateway', 'gateways', true, ['gtw']),
  gatewayApiKind('HTTPRoute', 'httproutes', true),
  {
    group: 'authorization.k8s.io',
    version: 'v1',
    kind: 'SelfSubjectAccessReview',
    plural: 'selfsubjectaccessreviews',
    singular: 'selfsubjectaccessreview',
    namespaced: false,
    verbs: ['create'],
    subresources: [],
  },
  {
    group: 'authorization.k8s.io',
    version: 'v1',
    kind: 'SelfSubjectRulesReview',
    plural: 'selfsubjectrulesreviews',
    singular: 'selfsubjectrulesreview',
    namespaced: false,
    verbs: ['create'],
    subresources: [],
  },
];

export const apiVersionOf = (def: Pick<ResourceDef, 'group' | 'version'>): string =>
  def.group ? `${def.group}/${def.version}` : def.version;

/** Key used by the store: "apps/deployments", "/pods". */
export const resourceKey = (def: Pick<ResourceDef, 'group' | 'plural'>): string => `${def.group}/${def.plural}`;

export function findResource(group: string, version: string, plural: string): ResourceDef | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.plural === plural);
}

export function findResourceByKind(apiVersion: string, kind: string): ResourceDef | undefined {
  return RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}

export function resourceFor(group: string, plural: string): ResourceDef {
  const def = RESOURCES.find((r) => r.group === group && r.plural === plural);
  if (!def) throw new Error(`unknown resource ${group}/${plural}`);
  return def;
}

/** Group versions in discovery order. */
export function groupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of RESOURCES) seen.set(`${r.group}/${r.version}`, { group: r.group, version: r.version });
  return [...seen.values()];
}

/** Shortcuts used by controllers. */
export const R = {
  namespaces: resourceFor('', 'namespaces'),
  nodes: resourceFor('', 'nodes'),
  pods: resourceFor('', 'pods'),
  services: resourceFor('', 'services'),
  endpoints: resourceFor('', 'endpoints'),
  configmaps: resourceFor('', 'configmaps'),
  secrets: resourceFor('', 'secrets'),
  events: resourceFor('', 'events'),
  serviceaccounts: resourceFor('', 'serviceaccounts'),
  deployments: resourceFor('apps', 'deployments'),
  replicasets: resourceFor('apps', 'replicasets'),
  leases: resourceFor('coordination.k8s.io', 'leases'),
  hpas: resourceFor('autoscaling', 'horizontalpodautoscalers'),
  networkpolicies: resourceFor('networking.k8s.io', 'networkpolicies'),
  gatewayclasses: resourceFor('gateway.networking.k8s.io', 'gatewayclasses'),
  gateways: resourceFor('gateway.networking.k8s.io', 'gateways'),
  httproutes: resourceFor('gateway.networking.k8s.io', 'httproutes'),
} as const;
