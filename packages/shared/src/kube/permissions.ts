/**
 * Every Kubernetes permission the actions use, in one place, by the stage whose credential needs it.
 * The preflight `rbac` check asks the API server about each (SelfSubjectAccessReview), and the
 * least-privilege Roles in the README are generated from this list (by the test harness's
 * role-manifests.ts; a test keeps them equal).
 *
 * Stages follow the workflow's environments: `canary` is the credential of `<environment>-canary`
 * (preflight, the side-by-side canary, both validations), which starts green beside the release and may
 * change nothing else; `promote` is `<environment>`'s, behind the reviewers (promotion, in-place canary);
 * `rollback` is `<environment>-rollback`'s.
 */
import { greenName } from './green';
import { greenServiceName } from './http-route';
import { leaseName } from './lock';
import { rejectedConfigMapName } from './rejected-versions';

export const STAGES = ['canary', 'promote', 'rollback'] as const;
export type Stage = (typeof STAGES)[number];

/** The objects a rule may be narrowed to (`resourceNames`), from the release's names. */
export interface ReleaseNames {
  release: string;
  deployment: string;
  /** With a traffic router: blue's Service and the HTTPRoute the canary weights. */
  service?: string;
  route?: string;
}
type NamedObject = 'green' | 'green-service' | 'route' | 'lease' | 'rejected-versions';
const NAMES: Record<NamedObject, (n: ReleaseNames) => string | undefined> = {
  green: (n) => greenName(n.deployment),
  'green-service': (n) => (n.service ? greenServiceName(n.service) : undefined),
  route: (n) => n.route,
  lease: (n) => leaseName(n.release),
  'rejected-versions': (n) => rejectedConfigMapName(n.release),
};

interface Permission {
  /** API group, '' for the core group. */
  group: string;
  resource: string;
  subresource?: string;
  verbs: string[];
  /** Cluster-scoped (nodes, namespaces) or needed across namespaces (pods on every node). */
  cluster?: boolean;
  /** Only this object (RBAC cannot narrow `create` or `list` by name, so those rules never have one). */
  only?: NamedObject;
  stages: readonly Stage[];
  /** Why an action needs it; shown when it is missing. */
  why: string;
  /** Needed only with this traffic router (canary `traffic-router`); asked about only when it is in use. */
  router?: 'gateway-api';
}

const ALL = STAGES;
const CHANGES = ['promote', 'rollback'] as const;
const CANARY = ['canary'] as const;

export const PERMISSIONS: readonly Permission[] = [
  {
    group: '',
    resource: 'nodes',
    verbs: ['get', 'list'],
    cluster: true,
    stages: CANARY,
    why: 'preflight: node health and capacity',
  },
  {
    group: '',
    resource: 'namespaces',
    verbs: ['get'],
    cluster: true,
    stages: CANARY,
    why: 'preflight: the namespace exists',
  },
  {
    group: '',
    resource: 'pods',
    verbs: ['list'],
    cluster: true,
    stages: CANARY,
    why: 'preflight: resources requested on each node',
  },
  {
    group: '',
    resource: 'pods',
    verbs: ['get', 'list', 'watch'],
    stages: ALL,
    why: 'rollout tracking, finding the canary pod',
  },
  {
    group: '',
    resource: 'pods',
    verbs: ['patch', 'delete'],
    stages: CHANGES,
    why: "promotion takes green's pods out of rotation and removes them; rollback removes pods a promotion left",
  },
  {
    group: '',
    resource: 'pods',
    subresource: 'log',
    verbs: ['get'],
    stages: ALL,
    why: 'last log lines of a failing pod, log scan',
  },
  {
    group: '',
    resource: 'pods',
    subresource: 'proxy',
    verbs: ['get', 'create'],
    stages: ALL,
    why: 'validate: reach a pod alone',
  },
  { group: '', resource: 'services', verbs: ['get', 'list'], stages: ALL, why: 'the Services that select the engine' },
  {
    group: '',
    resource: 'services',
    verbs: ['create', 'update', 'patch', 'delete'],
    stages: CHANGES,
    why: 'helm: the chart Service',
  },
  {
    group: '',
    resource: 'services',
    verbs: ['create'],
    stages: CANARY,
    router: 'gateway-api',
    why: "canary: green's own Service, for the route",
  },
  {
    group: '',
    resource: 'services',
    verbs: ['update', 'patch', 'delete'],
    only: 'green-service',
    stages: CANARY,
    router: 'gateway-api',
    why: "canary: green's own Service, and nothing else",
  },
  {
    group: '',
    resource: 'services',
    subresource: 'proxy',
    verbs: ['get', 'create'],
    stages: ALL,
    why: 'validate: reach the Service',
  },
  {
    group: '',
    resource: 'secrets',
    verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'],
    stages: CHANGES,
    why: 'helm: release history',
  },
  {
    group: '',
    resource: 'configmaps',
    verbs: ['get'],
    only: 'rejected-versions',
    stages: CANARY,
    why: 'preflight: the versions rolled back',
  },
  {
    group: '',
    resource: 'configmaps',
    verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'],
    stages: CHANGES,
    why: 'helm: chart ConfigMaps; the rejected-versions record',
  },
  { group: '', resource: 'events', verbs: ['list'], stages: ALL, why: 'explaining a stuck rollout' },
  {
    group: 'apps',
    resource: 'deployments',
    verbs: ['get', 'list', 'watch'],
    stages: ALL,
    why: 'reading and tracking the release and green',
  },
  { group: 'apps', resource: 'deployments', verbs: ['create'], stages: CANARY, why: 'canary: start green' },
  {
    group: 'apps',
    resource: 'deployments',
    verbs: ['update', 'patch', 'delete'],
    only: 'green',
    stages: CANARY,
    why: 'canary: replace or annotate green, and nothing else',
  },
  {
    group: 'apps',
    resource: 'deployments',
    verbs: ['create', 'update', 'patch', 'delete'],
    stages: CHANGES,
    why: 'deploy, roll back, remove green',
  },
  {
    group: 'apps',
    resource: 'deployments',
    subresource: 'scale',
    verbs: ['get', 'update', 'patch'],
    stages: CHANGES,
    why: 'promotion and database rollback scaling',
  },
  {
    group: 'apps',
    resource: 'replicasets',
    verbs: ['get', 'list', 'watch'],
    stages: ALL,
    why: 'revisions and the new ReplicaSet',
  },
  {
    group: 'autoscaling',
    resource: 'horizontalpodautoscalers',
    verbs: ['get', 'list'],
    stages: ALL,
    why: "the release's autoscaler",
  },
  {
    group: 'autoscaling',
    resource: 'horizontalpodautoscalers',
    verbs: ['create', 'update', 'patch', 'delete'],
    stages: CHANGES,
    why: 'autoscaling off for an in-place canary, on after promotion',
  },
  {
    group: 'networking.k8s.io',
    resource: 'networkpolicies',
    verbs: ['list'],
    stages: CANARY,
    why: 'preflight: a NetworkPolicy selects the engine pods',
  },
  {
    group: 'coordination.k8s.io',
    resource: 'leases',
    verbs: ['create'],
    stages: ALL,
    why: 'the release lock',
  },
  {
    group: 'coordination.k8s.io',
    resource: 'leases',
    // list and watch too: the holder watches its Lease (fieldSelector metadata.name) to learn of a takeover at once
    verbs: ['get', 'list', 'watch', 'update', 'delete'],
    only: 'lease',
    stages: ALL,
    why: 'the release lock',
  },
  {
    group: 'gateway.networking.k8s.io',
    resource: 'httproutes',
    verbs: ['get', 'list', 'watch'],
    stages: ALL,
    router: 'gateway-api',
    why: 'the HTTPRoute that splits traffic between blue and green',
  },
  {
    group: 'gateway.networking.k8s.io',
    resource: 'httproutes',
    verbs: ['patch'],
    only: 'route',
    stages: CANARY,
    router: 'gateway-api',
    why: "canary: the route's backendRef weights, and no other route",
  },
  {
    group: 'gateway.networking.k8s.io',
    resource: 'httproutes',
    verbs: ['create', 'update', 'patch', 'delete'],
    stages: CHANGES,
    router: 'gateway-api',
    why: "the route's weights; helm: the chart HTTPRoute",
  },
  {
    group: 'gateway.networking.k8s.io',
    resource: 'gateways',
    verbs: ['get', 'list', 'create', 'update', 'patch', 'delete'],
    stages: CHANGES,
    router: 'gateway-api',
    why: 'helm: the chart Gateway',
  },
];

/**
 * What the canary credential must NOT be able to do: asked too, so a credential that can do more than
 * its stage needs is named (a leaked canary job then cannot read helm's release Secrets or change the
 * release itself).
 */
const BEYOND_CANARY: readonly { group: string; resource: string; verb: string; named?: boolean }[] = [
  { group: '', resource: 'secrets', verb: 'get' },
  { group: 'apps', resource: 'deployments', verb: 'patch', named: true },
  { group: 'apps', resource: 'deployments', verb: 'delete', named: true },
];

export interface AccessQuestion {
  group: string;
  resource: string;
  subresource?: string;
  verb: string;
  namespace?: string;
  name?: string;
  why: string;
}

/** One SelfSubjectAccessReview question per verb the stage's credential needs (router-only ones when in use). */
export function accessQuestions(
  namespace: string,
  stage: Stage,
  names: ReleaseNames,
  routers: readonly string[] = [],
): AccessQuestion[] {
  return PERMISSIONS.filter((p) => p.stages.includes(stage) && (!p.router || routers.includes(p.router))).flatMap((p) =>
    p.verbs.map((verb) => ({
      group: p.group,
      resource: p.resource,
      subresource: p.subresource,
      verb,
      namespace: p.cluster ? undefined : namespace,
      name: p.only ? NAMES[p.only](names) : undefined,
      why: p.why,
    })),
  );
}

/** The questions whose answer should be no for this stage (only the canary's credential is narrower). */
export function beyondStageQuestions(namespace: string, stage: Stage, names: ReleaseNames): AccessQuestion[] {
  if (stage !== 'canary') return [];
  return BEYOND_CANARY.map((q) => ({
    group: q.group,
    resource: q.resource,
    verb: q.verb,
    namespace,
    name: q.named ? names.deployment : undefined,
    why: 'more than the canary stage needs',
  }));
}

/** The Role rules of a stage: one per permission, narrowed by `resourceNames` where it names one object. */
export function stageRules(stage: Stage, names: ReleaseNames, cluster: boolean) {
  return PERMISSIONS.filter((p) => p.stages.includes(stage) && !!p.cluster === cluster).map((p) => ({
    group: p.group,
    resource: p.subresource ? `${p.resource}/${p.subresource}` : p.resource,
    verbs: p.verbs,
    resourceNames: p.only ? [NAMES[p.only](names) ?? ''] : undefined,
    router: p.router,
  }));
}

/** "get pods/log", "patch apps/deployments veloz-engine" or "list nodes (cluster-wide)" */
export function describeAccess(question: AccessQuestion): string {
  return `${question.verb} ${resourceOf(question)}`;
}

/** Missing permissions, one phrase per object and reason: "get, list, watch secrets (helm: release history)". */
export function describeMissing(questions: readonly AccessQuestion[]): string {
  const groups = new Map<string, { verbs: string[]; why: string }>();
  for (const q of questions) {
    const key = `${resourceOf(q)}\u0000${q.why}`;
    const group = groups.get(key) ?? { verbs: [], why: q.why };
    group.verbs.push(q.verb);
    groups.set(key, group);
  }
  return [...groups.entries()]
    .map(([key, g]) => `${g.verbs.join(', ')} ${key.split('\u0000')[0]} (${g.why})`)
    .join('; ');
}

function resourceOf(q: AccessQuestion): string {
  const resource = `${q.group ? `${q.group}/` : ''}${q.resource}${q.subresource ? `/${q.subresource}` : ''}`;
  return `${resource}${q.name ? ` ${q.name}` : ''}${q.namespace ? '' : ' (cluster-wide)'}`;
}
