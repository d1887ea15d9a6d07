import { defaultGatewayApi, validateGatewayApi } from './gateway-admission';
import { labelSelectorFromSpec } from './selectors';
import type { StatusCause } from './errors';
import { deepEqual, isPlainObject, type JsonObject, type KubeObject } from '../util';

/** Hands out fake ClusterIPs (10.96.0.0/12) and pod IPs (10.244.0.0/16); never routed anywhere. */
export class IpAllocator {
  private nextService = 10;
  private nextPod = 2;
  serviceIp(): string {
    const n = this.nextService++;
    return `10.96.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
  }
  podIp(): string {
    const n = this.nextPod++;
    return `10.244.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
  }
}

type Obj = JsonObject;
const obj = (v: unknown): Obj => (isPlainObject(v) ? v : {});
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isPlainObject) : []);

function defaultProbe(probe: unknown): void {
  if (!isPlainObject(probe)) return;
  probe.timeoutSeconds ??= 1;
  probe.periodSeconds ??= 10;
  probe.successThreshold ??= 1;
  probe.failureThreshold ??= 3;
  if (isPlainObject(probe.httpGet)) probe.httpGet.scheme ??= 'HTTP';
}

function defaultContainer(c: Obj): void {
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  if (c.imagePullPolicy === undefined) {
    const image = String(c.image ?? '');
    const tag = /:([^/:@]+)$/.exec(image.split('@')[0] ?? '')?.[1];
    c.imagePullPolicy = !tag || tag === 'latest' ? 'Always' : 'IfNotPresent';
  }
  c.resources ??= {};
  for (const p of arr(c.ports)) p.protocol ??= 'TCP';
  defaultProbe(c.readinessProbe);
  defaultProbe(c.livenessProbe);
  defaultProbe(c.startupProbe);
}

/** The defaults the API server fills into a PodSpec (so templates hash and compare like Kubernetes'). */
export function defaultPodSpec(spec: Obj): void {
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  for (const c of [...arr(spec.containers), ...arr(spec.initContainers)]) defaultContainer(c);
}

function defaultTemplate(spec: Obj): void {
  const template = obj(spec.template);
  spec.template = template;
  template.metadata ??= {};
  template.spec ??= {};
  defaultPodSpec(obj(template.spec));
}

/** Fills the defaults Kubernetes applies on every write, per kind. */
export function applyDefaults(kind: string, o: KubeObject, ips: IpAllocator, previous?: KubeObject): void {
  const spec = obj(o.spec);
  switch (kind) {
    case 'Deployment': {
      o.spec = spec;
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      const strategy = obj(spec.strategy);
      spec.strategy = strategy;
      strategy.type ??= 'RollingUpdate';
      if (strategy.type === 'RollingUpdate') {
        const ru = obj(strategy.rollingUpdate);
        strategy.rollingUpdate = ru;
        ru.maxSurge ??= '25%';
        ru.maxUnavailable ??= '25%';
      }
      defaultTemplate(spec);
      o.status ??= {};
      break;
    }
    case 'ReplicaSet':
      o.spec = spec;
      spec.replicas ??= 1;
      defaultTemplate(spec);
      o.status ??= { replicas: 0 };
      break;
    case 'Pod':
      o.spec = spec;
      defaultPodSpec(spec);
      spec.serviceAccountName ??= 'default';
      spec.serviceAccount ??= spec.serviceAccountName;
      spec.enableServiceLinks ??= true;
      spec.priority ??= 0;
      o.status ??= { phase: 'Pending', qosClass: 'BestEffort' };
      break;
    case 'Service': {
      o.spec = spec;
      spec.type ??= 'ClusterIP';
      spec.sessionAffinity ??= 'None';
      const prevSpec = obj(previous?.spec);
      if (spec.type !== 'ExternalName') {
        if (spec.clusterIP === undefined || spec.clusterIP === '')
          spec.clusterIP = (prevSpec.clusterIP as string | undefined) ?? ips.serviceIp();
        spec.clusterIPs ??= (prevSpec.clusterIPs as string[] | undefined) ?? [spec.clusterIP];
        spec.ipFamilies ??= ['IPv4'];
        spec.ipFamilyPolicy ??= 'SingleStack';
        spec.internalTrafficPolicy ??= 'Cluster';
      }
      for (const p of arr(spec.ports)) {
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
      }
      o.status ??= { loadBalancer: {} };
      break;
    }
    case 'Namespace': {
      o.spec = { finalizers: ['kubernetes'], ...spec };
      o.status ??= { phase: 'Active' };
      const labels = (o.metadata.labels ??= {});
      if (o.metadata.name) labels['kubernetes.io/metadata.name'] = o.metadata.name;
      break;
    }
    case 'Secret': {
      o.type ??= 'Opaque';
      // stringData is write-only: fold it into data like the API server does.
      if (isPlainObject(o.stringData)) {
        const data = obj(o.data);
        for (const [k, v] of Object.entries(o.stringData)) data[k] = Buffer.from(String(v)).toString('base64');
        o.data = data;
        delete o.stringData;
      }
      break;
    }
    case 'NetworkPolicy':
      o.spec = spec;
      // The API server's default: Ingress, plus Egress when egress rules are given.
      spec.policyTypes ??= Array.isArray(spec.egress) ? ['Ingress', 'Egress'] : ['Ingress'];
      break;
    case 'HorizontalPodAutoscaler':
      o.spec = spec;
      spec.minReplicas ??= 1;
      o.status ??= { currentReplicas: 0, desiredReplicas: 0 };
      break;
    default:
      defaultGatewayApi(kind, o);
      break;
  }
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The validation causes a write would get from the API server (only what clients here can trip over). */
export function validate(kind: string, o: KubeObject, previous?: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const name = o.metadata.name ?? '';
  if (!name)
    causes.push({
      reason: 'FieldValueRequired',
      message: 'Required value: name or generateName is required',
      field: 'metadata.name',
    });
  else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    causes.push({
      reason: 'FieldValueInvalid',
      message: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      field: 'metadata.name',
    });
  }
  const spec = obj(o.spec);
  const checkPodSpec = (podSpec: Obj, path: string): void => {
    const containers = arr(podSpec.containers);
    if (containers.length === 0)
      causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `${path}.containers` });
    containers.forEach((c, i) => {
      if (!c.name)
        causes.push({
          reason: 'FieldValueRequired',
          message: 'Required value',
          field: `${path}.containers[${i}].name`,
        });
      if (!c.image)
        causes.push({
          reason: 'FieldValueRequired',
          message: 'Required value',
          field: `${path}.containers[${i}].image`,
        });
    });
  };
  switch (kind) {
    case 'Deployment':
    case 'ReplicaSet': {
      if (!isPlainObject(spec.selector)) {
        causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.selector' });
      } else {
        const labels = obj(obj(obj(spec.template).metadata).labels) as Record<string, string>;
        if (!labelSelectorFromSpec(spec.selector)(labels)) {
          causes.push({
            reason: 'FieldValueInvalid',
            message: `Invalid value: ${JSON.stringify(labels)}: \`selector\` does not match template \`labels\``,
            field: 'spec.template.metadata.labels',
          });
        }
        const before = obj(previous?.spec).selector;
        if (previous && kind === 'Deployment' && !deepEqual(before, spec.selector)) {
          causes.push({
            reason: 'FieldValueInvalid',
            message: `Invalid value: ${JSON.stringify(spec.selector)}: field is immutable`,
            field: 'spec.selector',
          });
        }
      }
      if (typeof spec.replicas === 'number' && spec.replicas < 0) {
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${spec.replicas}: must be greater than or equal to 0`,
          field: 'spec.replicas',
        });
      }
      checkPodSpec(obj(obj(spec.template).spec), 'spec.template.spec');
      break;
    }
    case 'Pod':
      checkPodSpec(spec, 'spec');
      break;
    case 'Service':
      arr(spec.ports).forEach((p, i) => {
        if (typeof p.port !== 'number')
          causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: `spec.ports[${i}].port` });
      });
      if (previous) {
        const before = obj(previous.spec).clusterIP;
        if (before && spec.clusterIP !== before) {
          causes.push({
            reason: 'FieldValueInvalid',
            message: `Invalid value: "${String(spec.clusterIP)}": field is immutable`,
            field: 'spec.clusterIP',
          });
        }
      }
      break;
    case 'NetworkPolicy':
      if (!isPlainObject(spec.podSelector))
        causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.podSelector' });
      break;
    case 'HorizontalPodAutoscaler':
      if (typeof spec.maxReplicas !== 'number')
        causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.maxReplicas' });
      else if (typeof spec.minReplicas === 'number' && spec.minReplicas > spec.maxReplicas) {
        causes.push({
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${spec.maxReplicas}: must be greater than or equal to \`minReplicas\``,
          field: 'spec.maxReplicas',
        });
      }
      if (!isPlainObject(spec.scaleTargetRef))
        causes.push({ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.scaleTargetRef' });
      break;
    default:
      causes.push(...validateGatewayApi(kind, o, previous));
      break;
  }
  return causes;
}
