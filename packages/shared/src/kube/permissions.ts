/**
 * Every Kubernetes permission the actions use, in one place. The preflight `rbac` check asks the
 * API server about each (SelfSubjectAccessReview), and the least-privilege Role and ClusterRole in
 * the README are generated from this list (by the test harness's role-manifests.ts; a test keeps them equal).
 */
interface Permission {
  /** API group, '' for the core group. */
  group: string;
  resource: string;
  subresource?: string;
  verbs: string[];
  /** Cluster-scoped (nodes, namespaces) or needed across namespaces (pods on every node). */
  cluster?: boolean;
  /** Why an action needs it; shown when it is missing. */
  why: string;
  /** Needed only with this traffic router (canary `traffic-router`); asked about only when it is in use. */
  router?: 'gateway-api';
}

export const PERMISSIONS: readonly Permission[] = [
  { group: '', resource: 'nodes', verbs: ['get', 'list'], cluster: true, why: 'preflight: node health and capacity' },
  { group: '', resource: 'namespaces', verbs: ['get'], cluster: true, why: 'preflight: the namespace exists' },
  { group: '', resource: 'pods', verbs: ['list'], cluster: true, why: 'preflight: resources requested on each node' },
  {
    group: '',
    resource: 'pods',
    verbs: ['get', 'list', 'watch', 'patch', 'delete'],
    why: "rollout tracking, finding the canary pod; promotion takes green's pods out of rotation and removes them",
  },
  { group: '', resource: 'pods', subresource: 'log', verbs: ['get'], why: 'last log lines of a failing pod, log scan' },
  { group: '', resource: 'pods', subresource: 'proxy', verbs: ['get', 'create'], why: 'validate: reach a pod alone' },
  {
    group: '',
    resource: 'services',
    verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'],
    why: 'helm: the chart Service',
  },
  {
    group: '',
    resource: 'services',
    subresource: 'proxy',
    verbs: ['get', 'create'],
    why: 'validate: reach the Service',
  },
  {
    group: '',
    resource: 'secrets',
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
    why: 'helm: release history',
  },
  {
    group: '',
    resource: 'configmaps',
    verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'],
    why: 'helm: chart ConfigMaps',
  },
  { group: '', resource: 'events', verbs: ['list'], why: 'explaining a stuck rollout' },
  {
    group: 'apps',
    resource: 'deployments',
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
    why: 'deploy, roll back, track',
  },
  {
    group: 'apps',
    resource: 'deployments',
    subresource: 'scale',
    verbs: ['get', 'update', 'patch'],
    why: 'canary and database rollback scaling',
  },
  { group: 'apps', resource: 'replicasets', verbs: ['get', 'list', 'watch'], why: 'revisions and the new ReplicaSet' },
  {
    group: 'autoscaling',
    resource: 'horizontalpodautoscalers',
    verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'],
    why: 'autoscaling off for the canary, on after promotion',
  },
  {
    group: 'networking.k8s.io',
    resource: 'networkpolicies',
    verbs: ['list'],
    why: 'preflight: a NetworkPolicy selects the engine pods',
  },
  {
    group: 'coordination.k8s.io',
    resource: 'leases',
    verbs: ['get', 'create', 'update', 'delete'],
    why: 'the release lock',
  },
  {
    group: 'gateway.networking.k8s.io',
    resource: 'httproutes',
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
    router: 'gateway-api',
    why: "canary: the route's backendRef weights; helm: the chart HTTPRoute",
  },
  {
    group: 'gateway.networking.k8s.io',
    resource: 'gateways',
    verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'],
    router: 'gateway-api',
    why: 'helm: the chart Gateway',
  },
];

export interface AccessQuestion {
  group: string;
  resource: string;
  subresource?: string;
  verb: string;
  namespace?: string;
  why: string;
}

/** One SelfSubjectAccessReview question per verb (router-only permissions when that router is in use). */
export function accessQuestions(namespace: string, routers: readonly string[] = []): AccessQuestion[] {
  return PERMISSIONS.filter((p) => !p.router || routers.includes(p.router)).flatMap((p) =>
    p.verbs.map((verb) => ({
      group: p.group,
      resource: p.resource,
      subresource: p.subresource,
      verb,
      namespace: p.cluster ? undefined : namespace,
      why: p.why,
    })),
  );
}

/** "get pods/log" or "list nodes (cluster-wide)" */
export function describeAccess(question: AccessQuestion): string {
  const resource = `${question.group ? `${question.group}/` : ''}${question.resource}${question.subresource ? `/${question.subresource}` : ''}`;
  return `${question.verb} ${resource}${question.namespace ? '' : ' (cluster-wide)'}`;
}
