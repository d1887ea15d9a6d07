/**
 * A manifest diff an approver can read: which objects a change adds, removes or changes, and for a
 * changed one each field that differs (`spec.replicas: 1 → 2`). Secrets, ConfigMap data and container
 * `env[].value`s show only that they changed: a Helm value rendered there may be a credential, and a
 * plan is printed in every canary summary.
 */
import { parseAllDocuments } from 'yaml';

export interface KubeManifest {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

interface FieldChange {
  path: string;
  before?: string;
  after?: string;
}

export interface ObjectChange {
  /** `Deployment/veloz-engine` */
  object: string;
  change: 'added' | 'removed' | 'changed';
  fields: FieldChange[];
}

/** The objects of a rendered multi-document manifest (`helm template`, `helm get manifest`). */
export function parseManifest(text: string): KubeManifest[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as KubeManifest | null)
    .filter((o): o is KubeManifest => !!o && typeof o === 'object' && typeof o.kind === 'string');
}

export function objectKey(manifest: KubeManifest): string {
  return `${manifest.kind}/${manifest.metadata?.name ?? '?'}`;
}

// Written by the API server or by helm for its own bookkeeping: never what a plan changes.
const IGNORED = [
  /^metadata\.(managedFields|resourceVersion|uid|generation|creationTimestamp|selfLink)(\.|\[|$)/,
  /^metadata\.annotations\.(deployment\.kubernetes\.io\/revision|meta\.helm\.sh\/|kubectl\.kubernetes\.io\/last-applied)/,
  /^status(\.|$)/,
];

export function diffManifests(before: readonly KubeManifest[], after: readonly KubeManifest[]): ObjectChange[] {
  const old = new Map(before.map((o) => [objectKey(o), o]));
  const changes: ObjectChange[] = [];
  for (const o of after) {
    const key = objectKey(o);
    const was = old.get(key);
    old.delete(key);
    if (!was) changes.push({ object: key, change: 'added', fields: fieldsOf(undefined, o) });
    else {
      const fields = fieldsOf(was, o);
      if (fields.length > 0) changes.push({ object: key, change: 'changed', fields });
    }
  }
  for (const [key, o] of old) changes.push({ object: key, change: 'removed', fields: fieldsOf(o, undefined) });
  return changes;
}

function fieldsOf(before: KubeManifest | undefined, after: KubeManifest | undefined): FieldChange[] {
  const a = flatten(before ?? {});
  const b = flatten(after ?? {});
  const secret = (before ?? after)?.kind === 'Secret';
  const configMap = (before ?? after)?.kind === 'ConfigMap';
  const fields: FieldChange[] = [];
  for (const path of new Set([...a.keys(), ...b.keys()])) {
    if (IGNORED.some((re) => re.test(path)) || a.get(path) === b.get(path)) continue;
    if (secret && /^(data|stringData)(\.|$)/.test(path)) {
      // One row for all of a Secret's values, never the values themselves.
      if (!fields.some((f) => f.path === 'data'))
        fields.push({ path: 'data', before: 'changed', after: '(values not shown)' });
      continue;
    }
    // An added or removed object is summarised by its spec, not every default the chart renders.
    if ((!before || !after) && !/^spec\./.test(path)) continue;
    if ((configMap && /^(data|binaryData)\./.test(path)) || ENV_VALUE.test(path)) {
      fields.push({ path, ...hiddenValue(a.has(path), b.has(path)) });
      continue;
    }
    fields.push({ path, before: a.get(path), after: b.get(path) });
  }
  return fields.sort((x, y) => x.path.localeCompare(y.path));
}

// A container's (or init container's) literal environment value, in any workload's pod template.
const ENV_VALUE = /(^|\.)env\[\d+\]\.value$/;
const NOT_SHOWN = '(value not shown)';

/** Whether a hidden value was set, changed or removed; never the value. */
function hiddenValue(had: boolean, has: boolean): Pick<FieldChange, 'before' | 'after'> {
  // The side that does not set it is left undefined: the plan renders it as every unset field.
  if (!had) return { after: `set ${NOT_SHOWN}` };
  if (!has) return { before: NOT_SHOWN };
  return { before: NOT_SHOWN, after: 'changed' };
}

/** `{spec: {containers: [{image: x}]}}` -> `spec.containers[0].image = x`; scalars only. */
function flatten(value: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(value)) value.forEach((item, i) => flatten(item, `${prefix}[${i}]`, out));
  else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) flatten(item, prefix ? `${prefix}.${key}` : key, out);
  } else if (value !== undefined && value !== null) out.set(prefix, String(value));
  return out;
}
