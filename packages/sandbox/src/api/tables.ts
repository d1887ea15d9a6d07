import { formatLabelSelector } from './selectors';
import { isPlainObject, type JsonObject, type KubeObject } from '../util';

/** Server-side printing (meta.k8s.io/v1 Table): what `kubectl get` shows in its columns. */
interface Column {
  name: string;
  type: 'string' | 'integer' | 'date';
  format?: string;
  priority?: number;
  description: string;
  cell: (o: KubeObject, now: number) => string | number;
}

// Lenient readers: a table cell shows 0 or nothing for a field the object does not have.
const asObject = (v: unknown): JsonObject => (isPlainObject(v) ? v : {});
const asObjects = (v: unknown): JsonObject[] => (Array.isArray(v) ? v.filter(isPlainObject) : []);
const asNumber = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** Kubernetes' duration.HumanDuration, as in the AGE column. */
export function humanDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < -1) return '<invalid>';
  if (s < 0) return '0s';
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 192) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 730) return `${d}d`;
  const y = Math.floor(d / 365);
  return d % 365 === 0 ? `${y}y` : `${y}y${d % 365}d`;
}

const age = (o: KubeObject, now: number): string => {
  const t = o.metadata.creationTimestamp;
  return t ? humanDuration(now - Date.parse(t)) : '<unknown>';
};

const nameCol: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  cell: (o) => o.metadata.name ?? '',
};
/** An integer column read from the object's spec or status (replica counts, HPA bounds). */
const countCol = (name: string, description: string, part: 'spec' | 'status', field: string): Column => ({
  name,
  type: 'integer',
  description,
  cell: (o) => asNumber(asObject(o[part])[field]),
});

const ageCol: Column = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  cell: age,
};

/** The wide (-o wide) columns Deployments and ReplicaSets share: what their pod template runs. */
const templateCols: Column[] = [
  {
    name: 'Containers',
    type: 'string',
    priority: 1,
    description: 'Names of each container in the template.',
    cell: (o) => containerNames(asObject(asObject(o.spec).template)),
  },
  {
    name: 'Images',
    type: 'string',
    priority: 1,
    description: 'Images referenced by each container in the template.',
    cell: (o) => containerImages(asObject(asObject(o.spec).template)),
  },
  {
    name: 'Selector',
    type: 'string',
    priority: 1,
    description: 'Label selector for pods.',
    cell: (o) => formatLabelSelector(asObject(o.spec).selector),
  },
];

const containerNames = (tmpl: JsonObject): string =>
  asObjects(asObject(tmpl.spec).containers)
    .map((c) => String(c.name))
    .join(',');
const containerImages = (tmpl: JsonObject): string =>
  asObjects(asObject(tmpl.spec).containers)
    .map((c) => String(c.image))
    .join(',');

/** The STATUS column of `kubectl get pods` (kubectl's printPod logic). */
export function podStatusReason(pod: KubeObject): {
  reason: string;
  ready: number;
  total: number;
  restarts: number;
  lastRestartMs?: number;
} {
  const status = asObject(pod.status);
  const spec = asObject(pod.spec);
  let reason = String(status.reason || status.phase || 'Pending');
  const statuses = asObjects(status.containerStatuses);
  const total = asObjects(spec.containers).length;
  let ready = 0;
  let restarts = 0;
  let lastRestartMs: number | undefined;
  let hasRunning = false;
  for (let i = statuses.length - 1; i >= 0; i--) {
    const cs = statuses[i] as JsonObject;
    restarts += asNumber(cs.restartCount);
    const finished = asObject(asObject(cs.lastState).terminated).finishedAt;
    if (typeof finished === 'string') {
      const t = Date.parse(finished);
      if (lastRestartMs === undefined || t > lastRestartMs) lastRestartMs = t;
    }
    const state = asObject(cs.state);
    const waiting = asObject(state.waiting);
    const terminated = asObject(state.terminated);
    if (isPlainObject(state.waiting) && waiting.reason) reason = String(waiting.reason);
    else if (isPlainObject(state.terminated) && terminated.reason) reason = String(terminated.reason);
    else if (isPlainObject(state.terminated)) reason = `ExitCode:${asNumber(terminated.exitCode)}`;
    else if (cs.ready && isPlainObject(state.running)) {
      hasRunning = true;
      ready++;
    }
  }
  if (reason === 'Completed' && hasRunning) reason = 'Running';
  if (pod.metadata.deletionTimestamp) reason = 'Terminating';
  return { reason, ready, total, restarts, ...(lastRestartMs !== undefined ? { lastRestartMs } : {}) };
}

/** A condition's status, as the Gateway API CRDs' printer columns read `.status.conditions[?(@.type==T)].status`. */
const conditionCol = (type: string): Column => ({
  name: type,
  type: 'string',
  description: `Status of the ${type} condition.`,
  cell: (o) => String(asObjects(asObject(o.status).conditions).find((c) => c.type === type)?.status ?? ''),
});

const COLUMNS: Record<string, Column[]> = {
  GatewayClass: [
    nameCol,
    {
      name: 'Controller',
      type: 'string',
      description: 'The controller that manages Gateways of this class.',
      cell: (o) => String(asObject(o.spec).controllerName ?? ''),
    },
    conditionCol('Accepted'),
    ageCol,
    {
      name: 'Description',
      type: 'string',
      priority: 1,
      description: 'Description of the class.',
      cell: (o) => String(asObject(o.spec).description ?? ''),
    },
  ],
  Gateway: [
    nameCol,
    {
      name: 'Class',
      type: 'string',
      description: 'The GatewayClass of the Gateway.',
      cell: (o) => String(asObject(o.spec).gatewayClassName ?? ''),
    },
    {
      name: 'Address',
      type: 'string',
      description: 'Addresses the Gateway is reachable at.',
      cell: (o) =>
        asObjects(asObject(o.status).addresses)
          .map((a) => String(a.value ?? ''))
          .join(' '),
    },
    conditionCol('Programmed'),
    ageCol,
  ],
  HTTPRoute: [
    nameCol,
    {
      name: 'Hostnames',
      type: 'string',
      description: 'Hostnames the route matches.',
      cell: (o) => {
        const hosts = asObject(o.spec).hostnames;
        return Array.isArray(hosts) && hosts.length > 0 ? JSON.stringify(hosts) : '';
      },
    },
    ageCol,
  ],
  Pod: [
    nameCol,
    {
      name: 'Ready',
      type: 'string',
      description: 'The aggregate readiness state of this pod for accepting traffic.',
      cell: (o) => {
        const s = podStatusReason(o);
        return `${s.ready}/${s.total}`;
      },
    },
    {
      name: 'Status',
      type: 'string',
      description: 'The aggregate status of the containers in this pod.',
      cell: (o) => podStatusReason(o).reason,
    },
    {
      name: 'Restarts',
      type: 'string',
      description:
        'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
      cell: (o, now) => {
        const s = podStatusReason(o);
        return s.restarts > 0 && s.lastRestartMs !== undefined
          ? `${s.restarts} (${humanDuration(now - s.lastRestartMs)} ago)`
          : String(s.restarts);
      },
    },
    ageCol,
    {
      name: 'IP',
      type: 'string',
      priority: 1,
      description: 'IP address allocated to the pod.',
      cell: (o) => String(asObject(o.status).podIP ?? '<none>'),
    },
    {
      name: 'Node',
      type: 'string',
      priority: 1,
      description: 'Name of the Node this pod is assigned to.',
      cell: (o) => String(asObject(o.spec).nodeName ?? '<none>'),
    },
    { name: 'Nominated Node', type: 'string', priority: 1, description: 'Nominated node name.', cell: () => '<none>' },
    { name: 'Readiness Gates', type: 'string', priority: 1, description: 'Readiness gates.', cell: () => '<none>' },
  ],
  Deployment: [
    nameCol,
    {
      name: 'Ready',
      type: 'string',
      description: 'Number of the pod with ready state',
      cell: (o) => `${asNumber(asObject(o.status).readyReplicas)}/${asNumber(asObject(o.spec).replicas)}`,
    },
    countCol(
      'Up-to-date',
      'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
      'status',
      'updatedReplicas',
    ),
    countCol(
      'Available',
      'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
      'status',
      'availableReplicas',
    ),
    ageCol,
    ...templateCols,
  ],
  ReplicaSet: [
    nameCol,
    countCol('Desired', 'Number of desired pods.', 'spec', 'replicas'),
    countCol('Current', 'Number of actual replicas.', 'status', 'replicas'),
    countCol('Ready', 'Number of ready replicas.', 'status', 'readyReplicas'),
    ageCol,
    ...templateCols,
  ],
  Node: [
    nameCol,
    {
      name: 'Status',
      type: 'string',
      description: 'The status of the node',
      cell: (o) => {
        const ready = asObjects(asObject(o.status).conditions).find((c) => c.type === 'Ready');
        return ready?.status === 'True' ? 'Ready' : 'NotReady';
      },
    },
    {
      name: 'Roles',
      type: 'string',
      description: 'The roles of the node',
      cell: (o) =>
        Object.keys(o.metadata.labels ?? {})
          .filter((k) => k.startsWith('node-role.kubernetes.io/'))
          .map((k) => k.slice(24))
          .join(',') || '<none>',
    },
    ageCol,
    {
      name: 'Version',
      type: 'string',
      description: 'Kubelet Version reported by the node.',
      cell: (o) => String(asObject(asObject(o.status).nodeInfo).kubeletVersion ?? ''),
    },
    {
      name: 'Internal-IP',
      type: 'string',
      priority: 1,
      description: 'Internal IP.',
      cell: (o) =>
        String(asObjects(asObject(o.status).addresses).find((a) => a.type === 'InternalIP')?.address ?? '<none>'),
    },
  ],
  Service: [
    nameCol,
    {
      name: 'Type',
      type: 'string',
      description: 'The type of the service.',
      cell: (o) => String(asObject(o.spec).type ?? 'ClusterIP'),
    },
    {
      name: 'Cluster-IP',
      type: 'string',
      description: 'The cluster IP of the service.',
      cell: (o) => String(asObject(o.spec).clusterIP ?? '<none>'),
    },
    { name: 'External-IP', type: 'string', description: 'External IPs.', cell: () => '<none>' },
    {
      name: 'Port(s)',
      type: 'string',
      description: 'The ports of the service.',
      cell: (o) =>
        asObjects(asObject(o.spec).ports)
          .map(
            (p) => `${asNumber(p.port)}${p.nodePort ? `:${asNumber(p.nodePort)}` : ''}/${String(p.protocol ?? 'TCP')}`,
          )
          .join(',') || '<none>',
    },
    ageCol,
    {
      name: 'Selector',
      type: 'string',
      priority: 1,
      description: 'Selector.',
      cell: (o) =>
        Object.entries((asObject(o.spec).selector ?? {}) as Record<string, string>)
          .map(([k, v]) => `${k}=${v}`)
          .join(',') || '<none>',
    },
  ],
  Namespace: [
    nameCol,
    {
      name: 'Status',
      type: 'string',
      description: 'The status of the namespace',
      cell: (o) => String(asObject(o.status).phase ?? ''),
    },
    ageCol,
  ],
  NetworkPolicy: [
    nameCol,
    {
      name: 'Pod-Selector',
      type: 'string',
      description: 'Pods the policy applies to.',
      cell: (o) =>
        Object.entries(asObject(asObject(asObject(o.spec).podSelector).matchLabels))
          .map(([k, v]) => `${k}=${String(v)}`)
          .join(',') || '<none>',
    },
    ageCol,
  ],
  HorizontalPodAutoscaler: [
    nameCol,
    {
      name: 'Reference',
      type: 'string',
      description: 'Reference to the target.',
      cell: (o) => {
        const r = asObject(asObject(o.spec).scaleTargetRef);
        return `${String(r.kind)}/${String(r.name)}`;
      },
    },
    {
      name: 'Targets',
      type: 'string',
      description: 'Current and target metrics.',
      cell: (o) =>
        asObjects(asObject(o.spec).metrics)
          .map((m) => {
            const t = asObject(asObject(asObject(m.resource).target));
            return `${String(asObject(m.resource).name ?? 'metric')}: <unknown>/${t.averageUtilization !== undefined ? `${asNumber(t.averageUtilization)}%` : String(t.averageValue ?? t.value ?? '')}`;
          })
          .join(', ') || '<none>',
    },
    {
      name: 'MinPods',
      type: 'string',
      description: 'Lower limit.',
      cell: (o) => String(asObject(o.spec).minReplicas ?? 1),
    },
    countCol('MaxPods', 'Upper limit.', 'spec', 'maxReplicas'),
    countCol('Replicas', 'Current replicas.', 'status', 'currentReplicas'),
    ageCol,
  ],
  Event: [
    {
      name: 'Last Seen',
      type: 'string',
      description: 'Time since last seen.',
      cell: (o, now) => {
        const t = String(o.lastTimestamp ?? o.eventTime ?? '');
        return t ? humanDuration(now - Date.parse(t)) : '<unknown>';
      },
    },
    { name: 'Type', type: 'string', description: 'Event type.', cell: (o) => String(o.type ?? '') },
    { name: 'Reason', type: 'string', description: 'Reason.', cell: (o) => String(o.reason ?? '') },
    {
      name: 'Object',
      type: 'string',
      description: 'Involved object.',
      cell: (o) => {
        const i = asObject(o.involvedObject);
        return `${String(i.kind ?? '').toLowerCase()}/${String(i.name ?? '')}`;
      },
    },
    { name: 'Message', type: 'string', description: 'Message.', cell: (o) => String(o.message ?? '') },
    { ...nameCol, priority: 1 },
  ],
  ConfigMap: [
    nameCol,
    {
      name: 'Data',
      type: 'integer',
      description: 'Number of entries.',
      cell: (o) => Object.keys(asObject(o.data)).length + Object.keys(asObject(o.binaryData)).length,
    },
    ageCol,
  ],
  Secret: [
    nameCol,
    { name: 'Type', type: 'string', description: 'Secret type.', cell: (o) => String(o.type ?? '') },
    {
      name: 'Data',
      type: 'integer',
      description: 'Number of entries.',
      cell: (o) => Object.keys(asObject(o.data)).length,
    },
    ageCol,
  ],
  Endpoints: [
    nameCol,
    {
      name: 'Endpoints',
      type: 'string',
      description: 'Ready endpoints.',
      cell: (o) =>
        asObjects(o.subsets)
          .flatMap((s) =>
            asObjects(s.addresses).flatMap((a) => asObjects(s.ports).map((p) => `${String(a.ip)}:${asNumber(p.port)}`)),
          )
          .join(',') || '<none>',
    },
    ageCol,
  ],
  Lease: [
    nameCol,
    {
      name: 'Holder',
      type: 'string',
      description: 'Holder identity.',
      cell: (o) => String(asObject(o.spec).holderIdentity ?? ''),
    },
    ageCol,
  ],
};

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function toTable(
  kind: string,
  objects: KubeObject[],
  include: IncludeObject,
  listMeta: JsonObject,
  withColumns = true,
): JsonObject {
  const columns = COLUMNS[kind] ?? [nameCol, ageCol];
  const now = Date.now();
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    ...(withColumns
      ? {
          columnDefinitions: columns.map((c) => ({
            name: c.name,
            type: c.type,
            format: c.format ?? '',
            description: c.description,
            priority: c.priority ?? 0,
          })),
        }
      : { columnDefinitions: null }),
    rows: objects.map((o) => ({
      cells: columns.map((c) => c.cell(o, now)),
      object:
        include === 'Object'
          ? o
          : include === 'None'
            ? null
            : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}

/** Whether an Accept header asks for server-side printing. */
export function wantsTable(accept: string | undefined): boolean {
  return !!accept && /as=Table/.test(accept);
}
