import { unsupportedMediaType } from './errors';

/**
 * Decodes Kubernetes' protobuf request bodies (application/vnd.kubernetes.protobuf). client-go's
 * typed clients send them: helm's release Secrets, and kubectl 1.33's `create`, `expose` and
 * `auth can-i`. Responses stay JSON (client-go decodes by the response's Content-Type).
 *
 * The tables below list field numbers of the messages those clients write (the API's wire format),
 * enough for what kubectl and helm create; unknown fields are skipped. Proto2 writes zero values of
 * non-pointer fields, which JSON would omit, so empty strings, false and 0 are dropped unless the
 * field is a pointer in the Go type (`keepZero`).
 */
type Scalar = 'string' | 'bytes' | 'int' | 'bool' | 'time' | 'quantity' | 'intOrString';
interface Field {
  name: string;
  kind: Scalar | Schema | { map: 'string' | 'bytes' | 'quantity' };
  repeated?: boolean;
  /** Embedded struct whose fields appear directly in the parent's JSON (Probe.handler, Volume.volumeSource). */
  inline?: boolean;
  keepZero?: boolean;
}
interface Schema {
  [field: number]: Field;
}

const f = (name: string, kind: Field['kind'], extra: Partial<Field> = {}): Field => ({ name, kind, ...extra });
const map = (value: 'string' | 'bytes' | 'quantity'): Field['kind'] => ({ map: value });

const OwnerReference: Schema = {
  1: f('kind', 'string'),
  3: f('name', 'string'),
  4: f('uid', 'string'),
  5: f('apiVersion', 'string'),
  6: f('controller', 'bool', { keepZero: true }),
  7: f('blockOwnerDeletion', 'bool', { keepZero: true }),
};
const ObjectMeta: Schema = {
  1: f('name', 'string'),
  2: f('generateName', 'string'),
  3: f('namespace', 'string'),
  5: f('uid', 'string'),
  6: f('resourceVersion', 'string'),
  7: f('generation', 'int'),
  8: f('creationTimestamp', 'time'),
  9: f('deletionTimestamp', 'time'),
  10: f('deletionGracePeriodSeconds', 'int', { keepZero: true }),
  11: f('labels', map('string')),
  12: f('annotations', map('string')),
  13: f('ownerReferences', OwnerReference, { repeated: true }),
  14: f('finalizers', 'string', { repeated: true }),
};
const LabelSelector: Schema = {
  1: f('matchLabels', map('string')),
  2: f(
    'matchExpressions',
    { 1: f('key', 'string'), 2: f('operator', 'string'), 3: f('values', 'string', { repeated: true }) },
    { repeated: true },
  ),
};
const KeySelector: Schema = {
  1: f('localObjectReference', { 1: f('name', 'string') }, { inline: true }),
  2: f('key', 'string'),
  3: f('optional', 'bool', { keepZero: true }),
};
const EnvVar: Schema = {
  1: f('name', 'string'),
  2: f('value', 'string'),
  3: f('valueFrom', {
    1: f('fieldRef', { 1: f('apiVersion', 'string'), 2: f('fieldPath', 'string') }),
    2: f('resourceFieldRef', { 1: f('containerName', 'string'), 2: f('resource', 'string') }),
    3: f('configMapKeyRef', KeySelector),
    4: f('secretKeyRef', KeySelector),
  }),
};
const HTTPGetAction: Schema = {
  1: f('path', 'string'),
  2: f('port', 'intOrString'),
  3: f('host', 'string'),
  4: f('scheme', 'string'),
  5: f('httpHeaders', { 1: f('name', 'string'), 2: f('value', 'string') }, { repeated: true }),
};
const ProbeHandler: Schema = {
  1: f('exec', { 1: f('command', 'string', { repeated: true }) }),
  2: f('httpGet', HTTPGetAction),
  3: f('tcpSocket', { 1: f('port', 'intOrString'), 2: f('host', 'string') }),
  4: f('grpc', { 1: f('port', 'int'), 2: f('service', 'string') }),
};
const Probe: Schema = {
  1: f('handler', ProbeHandler, { inline: true }),
  2: f('initialDelaySeconds', 'int'),
  3: f('timeoutSeconds', 'int'),
  4: f('periodSeconds', 'int'),
  5: f('successThreshold', 'int'),
  6: f('failureThreshold', 'int'),
  7: f('terminationGracePeriodSeconds', 'int', { keepZero: true }),
};
const Container: Schema = {
  1: f('name', 'string'),
  2: f('image', 'string'),
  3: f('command', 'string', { repeated: true }),
  4: f('args', 'string', { repeated: true }),
  5: f('workingDir', 'string'),
  6: f(
    'ports',
    {
      1: f('name', 'string'),
      2: f('hostPort', 'int'),
      3: f('containerPort', 'int'),
      4: f('protocol', 'string'),
      5: f('hostIP', 'string'),
    },
    { repeated: true },
  ),
  7: f('env', EnvVar, { repeated: true }),
  8: f('resources', { 1: f('limits', map('quantity')), 2: f('requests', map('quantity')) }),
  9: f(
    'volumeMounts',
    { 1: f('name', 'string'), 2: f('readOnly', 'bool'), 3: f('mountPath', 'string'), 4: f('subPath', 'string') },
    { repeated: true },
  ),
  10: f('livenessProbe', Probe),
  11: f('readinessProbe', Probe),
  13: f('terminationMessagePath', 'string'),
  14: f('imagePullPolicy', 'string'),
  16: f('stdin', 'bool'),
  17: f('stdinOnce', 'bool'),
  18: f('tty', 'bool'),
  19: f(
    'envFrom',
    { 1: f('prefix', 'string'), 2: f('configMapRef', KeySelector), 3: f('secretRef', KeySelector) },
    { repeated: true },
  ),
  20: f('terminationMessagePolicy', 'string'),
  22: f('startupProbe', Probe),
};
const PodSpec: Schema = {
  1: f(
    'volumes',
    {
      1: f('name', 'string'),
      2: f(
        'volumeSource',
        {
          2: f('emptyDir', { 1: f('medium', 'string') }),
          6: f('secret', { 1: f('secretName', 'string') }),
          19: f('configMap', { 1: f('localObjectReference', { 1: f('name', 'string') }, { inline: true }) }),
        },
        { inline: true },
      ),
    },
    { repeated: true },
  ),
  2: f('containers', Container, { repeated: true }),
  3: f('restartPolicy', 'string'),
  4: f('terminationGracePeriodSeconds', 'int', { keepZero: true }),
  5: f('activeDeadlineSeconds', 'int', { keepZero: true }),
  6: f('dnsPolicy', 'string'),
  7: f('nodeSelector', map('string')),
  8: f('serviceAccountName', 'string'),
  9: f('serviceAccount', 'string'),
  10: f('nodeName', 'string'),
  11: f('hostNetwork', 'bool'),
  16: f('hostname', 'string'),
  17: f('subdomain', 'string'),
  19: f('schedulerName', 'string'),
  20: f('initContainers', Container, { repeated: true }),
  24: f('priorityClassName', 'string'),
  15: f('imagePullSecrets', { 1: f('name', 'string') }, { repeated: true }),
};
const PodTemplateSpec: Schema = { 1: f('metadata', ObjectMeta), 2: f('spec', PodSpec) };
const IntOrStringFields = {
  maxUnavailable: f('maxUnavailable', 'intOrString'),
  maxSurge: f('maxSurge', 'intOrString'),
};

const SCHEMAS: Record<string, Schema> = {
  Secret: {
    1: f('metadata', ObjectMeta),
    2: f('data', map('bytes')),
    3: f('type', 'string'),
    4: f('stringData', map('string')),
    5: f('immutable', 'bool', { keepZero: true }),
  },
  ConfigMap: {
    1: f('metadata', ObjectMeta),
    2: f('data', map('string')),
    3: f('binaryData', map('bytes')),
    4: f('immutable', 'bool', { keepZero: true }),
  },
  Namespace: { 1: f('metadata', ObjectMeta), 2: f('spec', { 1: f('finalizers', 'string', { repeated: true }) }) },
  ServiceAccount: { 1: f('metadata', ObjectMeta) },
  Pod: { 1: f('metadata', ObjectMeta), 2: f('spec', PodSpec) },
  Deployment: {
    1: f('metadata', ObjectMeta),
    2: f('spec', {
      1: f('replicas', 'int', { keepZero: true }),
      2: f('selector', LabelSelector),
      3: f('template', PodTemplateSpec),
      4: f('strategy', {
        1: f('type', 'string'),
        2: f('rollingUpdate', { 1: IntOrStringFields.maxUnavailable, 2: IntOrStringFields.maxSurge }),
      }),
      5: f('minReadySeconds', 'int'),
      6: f('revisionHistoryLimit', 'int', { keepZero: true }),
      7: f('paused', 'bool'),
      9: f('progressDeadlineSeconds', 'int', { keepZero: true }),
    }),
  },
  ReplicaSet: {
    1: f('metadata', ObjectMeta),
    2: f('spec', {
      1: f('replicas', 'int', { keepZero: true }),
      2: f('selector', LabelSelector),
      3: f('template', PodTemplateSpec),
      4: f('minReadySeconds', 'int'),
    }),
  },
  Service: {
    1: f('metadata', ObjectMeta),
    2: f('spec', {
      1: f(
        'ports',
        {
          1: f('name', 'string'),
          2: f('protocol', 'string'),
          3: f('port', 'int'),
          4: f('targetPort', 'intOrString'),
          5: f('nodePort', 'int'),
          6: f('appProtocol', 'string'),
        },
        { repeated: true },
      ),
      2: f('selector', map('string')),
      3: f('clusterIP', 'string'),
      4: f('type', 'string'),
      5: f('externalIPs', 'string', { repeated: true }),
      7: f('sessionAffinity', 'string'),
      10: f('externalName', 'string'),
      18: f('clusterIPs', 'string', { repeated: true }),
      19: f('ipFamilies', 'string', { repeated: true }),
      17: f('ipFamilyPolicy', 'string'),
    }),
  },
  SelfSubjectAccessReview: {
    1: f('metadata', ObjectMeta),
    2: f('spec', {
      1: f('resourceAttributes', {
        1: f('namespace', 'string'),
        2: f('verb', 'string'),
        3: f('group', 'string'),
        4: f('version', 'string'),
        5: f('resource', 'string'),
        6: f('subresource', 'string'),
        7: f('name', 'string'),
      }),
      2: f('nonResourceAttributes', { 1: f('path', 'string'), 2: f('verb', 'string') }),
    }),
  },
  SelfSubjectRulesReview: { 1: f('metadata', ObjectMeta), 2: f('spec', { 1: f('namespace', 'string') }) },
  DeleteOptions: {
    1: f('gracePeriodSeconds', 'int', { keepZero: true }),
    2: f('preconditions', { 1: f('uid', 'string'), 2: f('resourceVersion', 'string') }),
    3: f('orphanDependents', 'bool', { keepZero: true }),
    4: f('propagationPolicy', 'string'),
    5: f('dryRun', 'string', { repeated: true }),
  },
  Lease: {
    1: f('metadata', ObjectMeta),
    2: f('spec', {
      1: f('holderIdentity', 'string'),
      2: f('leaseDurationSeconds', 'int', { keepZero: true }),
      3: f('acquireTime', 'time'),
      4: f('renewTime', 'time'),
      5: f('leaseTransitions', 'int', { keepZero: true }),
    }),
  },
};

const Unknown: Schema = {
  1: f('typeMeta', { 1: f('apiVersion', 'string'), 2: f('kind', 'string') }),
  2: f('raw', 'bytes', { keepZero: true }),
};
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  get done(): boolean {
    return this.pos >= this.buf.length;
  }
  varint(): number {
    let result = 0;
    for (let shift = 0; ; shift += 7) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw new Error('truncated varint');
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
    }
  }
  bytes(): Buffer {
    const len = this.varint();
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

const isEmpty = (v: unknown): boolean =>
  v === undefined ||
  v === '' ||
  v === false ||
  v === 0 ||
  (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0);

function scalar(r: Reader, kind: Scalar): unknown {
  switch (kind) {
    case 'string':
      return r.bytes().toString('utf8');
    case 'bytes':
      return r.bytes().toString('base64');
    case 'int': {
      const v = r.varint();
      // int32/int64 negatives arrive as 64-bit two's complement varints.
      return v >= 2 ** 63 ? v - 2 ** 64 : v;
    }
    case 'bool':
      return r.varint() !== 0;
    case 'time': {
      const t = decodeMessage(r.bytes(), { 1: f('seconds', 'int') });
      return t.seconds ? new Date(Number(t.seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined;
    }
    case 'quantity':
      return decodeMessage(r.bytes(), { 1: f('string', 'string') }).string;
    case 'intOrString': {
      const v = decodeMessage(r.bytes(), {
        1: f('type', 'int', { keepZero: true }),
        2: f('intVal', 'int', { keepZero: true }),
        3: f('strVal', 'string'),
      });
      return v.type === 1 ? (v.strVal ?? '') : (v.intVal ?? 0);
    }
  }
}

function decodeMessage(buf: Buffer, schema: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const r = new Reader(buf);
  while (!r.done) {
    const tag = r.varint();
    const field = schema[Math.floor(tag / 8)];
    if (!field) {
      r.skip(tag & 7);
      continue;
    }
    const kind = field.kind;
    if (typeof kind === 'object' && 'map' in kind) {
      const valueKind = kind.map === 'string' ? 'string' : kind.map === 'bytes' ? 'bytes' : 'quantity';
      const entry = new Reader(r.bytes());
      let key = '';
      let value: unknown = valueKind === 'bytes' ? '' : '';
      while (!entry.done) {
        const t = entry.varint();
        if (t >> 3 === 1) key = entry.bytes().toString('utf8');
        else if (t >> 3 === 2) value = scalar(entry, valueKind as Scalar);
        else entry.skip(t & 7);
      }
      ((out[field.name] ??= {}) as Record<string, unknown>)[key] = value;
      continue;
    }
    const value = typeof kind === 'string' ? scalar(r, kind) : decodeMessage(r.bytes(), kind as Schema);
    if (field.inline && typeof value === 'object' && value !== null) {
      Object.assign(out, value);
      continue;
    }
    if (field.repeated) ((out[field.name] ??= []) as unknown[]).push(value);
    else if (field.keepZero ? value !== undefined : !isEmpty(value)) out[field.name] = value;
  }
  return out;
}

/** A protobuf-encoded request body as the JSON object it stands for. */
export function decodeKubernetesProtobuf(body: Buffer, contentType: string): Record<string, unknown> {
  if (!body.subarray(0, 4).equals(MAGIC))
    throw unsupportedMediaType(contentType, ['application/json', 'application/yaml']);
  const unknown = decodeMessage(body.subarray(4), Unknown);
  const typeMeta = (unknown.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const schema = SCHEMAS[typeMeta.kind ?? ''];
  if (!schema || typeof unknown.raw !== 'string') {
    throw unsupportedMediaType(`${contentType} for kind ${typeMeta.kind ?? 'unknown'}`, [
      'application/json',
      'application/yaml',
    ]);
  }
  return {
    apiVersion: typeMeta.apiVersion,
    kind: typeMeta.kind,
    ...decodeMessage(Buffer.from(unknown.raw, 'base64'), schema),
  };
}
