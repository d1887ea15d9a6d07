import { ApiError } from './errors';
import { mergeKeyFor } from './patch';
import { deepEqual, isPlainObject, rfc3339, type JsonObject, type KubeObject } from '../util';

/**
 * Field ownership for server-side apply, simplified from structured-merge-diff: each manager owns
 * a set of leaf paths. Updates take the fields they change; an apply that would change a field
 * another manager owns is a 409 conflict unless forced (what helm 4 runs into after `kubectl scale`).
 */
type Segment = { field: string } | { key: Record<string, unknown> } | { value: unknown };
interface Leaf {
  segments: Segment[];
  value: unknown;
}
export type FieldSet = Map<string, Leaf>;

interface ManagerEntry {
  operation: 'Update' | 'Apply';
  apiVersion: string;
  time: string;
  subresource?: string;
  fields: FieldSet;
}

// Identity and server-owned metadata are nobody's fields.
const SYSTEM_META = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
  'generateName',
]);
const PRIMITIVE_SET_LISTS = new Set(['finalizers']);

/** Leaf paths of an object (status excluded unless asked for). */
export function fieldsOf(obj: KubeObject, includeStatus = false): FieldSet {
  const out: FieldSet = new Map();
  const walk = (value: unknown, segments: Segment[], field: string): void => {
    if (isPlainObject(value) && Object.keys(value).length > 0) {
      for (const [k, v] of Object.entries(value)) walk(v, [...segments, { field: k }], k);
      return;
    }
    if (Array.isArray(value) && value.length > 0) {
      if (PRIMITIVE_SET_LISTS.has(field) && value.every((v) => !isPlainObject(v))) {
        for (const v of value) add([...segments, { value: v }], v);
        return;
      }
      const key = mergeKeyFor(field, value);
      if (key && value.every((v) => isPlainObject(v) && key in v)) {
        for (const item of value as JsonObject[]) walk(item, [...segments, { key: { [key]: item[key] } }], '');
        return;
      }
    }
    add(segments, value);
  };
  const add = (segments: Segment[], value: unknown): void => {
    out.set(JSON.stringify(segments), { segments, value });
  };
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind' || (k === 'status' && !includeStatus)) continue;
    if (k === 'metadata' && isPlainObject(v)) {
      for (const [mk, mv] of Object.entries(v))
        if (!SYSTEM_META.has(mk)) walk(mv, [{ field: 'metadata' }, { field: mk }], mk);
      continue;
    }
    walk(v, [{ field: k }], k);
  }
  return out;
}

/** `.spec.template.spec.containers[name="main"].image`, as Kubernetes prints conflicting fields. */
export function describePath(segments: Segment[]): string {
  return segments
    .map((s) =>
      'field' in s
        ? `.${s.field}`
        : 'key' in s
          ? `[${Object.entries(s.key)
              .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
              .join(',')}]`
          : `[${JSON.stringify(s.value)}]`,
    )
    .join('');
}

/** The value at a path in an object (undefined when absent). */
function valueAt(obj: unknown, segments: Segment[]): unknown {
  let cur: unknown = obj;
  for (const s of segments) {
    if ('field' in s) cur = isPlainObject(cur) ? cur[s.field] : undefined;
    else if ('key' in s) {
      const [k, v] = Object.entries(s.key)[0] ?? ['', undefined];
      cur = Array.isArray(cur) ? cur.find((i) => isPlainObject(i) && deepEqual(i[k], v)) : undefined;
    } else cur = Array.isArray(cur) && cur.some((i) => deepEqual(i, s.value)) ? s.value : undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

function fieldsV1(fields: FieldSet): JsonObject {
  const root: JsonObject = {};
  for (const { segments } of fields.values()) {
    let node = root;
    for (const s of segments) {
      const key =
        'field' in s ? `f:${s.field}` : 'key' in s ? `k:${JSON.stringify(s.key)}` : `v:${JSON.stringify(s.value)}`;
      const next = (node[key] ??= {}) as JsonObject;
      if ('key' in s) next['.'] = {};
      node = next;
    }
  }
  return root;
}

export class FieldManagers {
  private readonly byObject = new Map<string, Map<string, ManagerEntry>>();

  /** Throws 409 if `applied` would change fields other managers own (unless forced); otherwise takes them. */
  apply(
    live: KubeObject | undefined,
    uid: string,
    manager: string,
    applied: KubeObject,
    force: boolean,
    apiVersion: string,
    checkOnly = false,
  ): void {
    const fields = fieldsOf(applied);
    const managers = this.byObject.get(uid) ?? new Map<string, ManagerEntry>();
    const conflicts: { manager: string; apiVersion: string; path: string; key: string }[] = [];
    for (const [name, entry] of managers) {
      if (name === manager) continue;
      for (const [key, leaf] of fields) {
        if (!entry.fields.has(key)) continue;
        if (live && !deepEqual(valueAt(live, leaf.segments), leaf.value))
          conflicts.push({ manager: name, apiVersion: entry.apiVersion, path: describePath(leaf.segments), key });
      }
    }
    if (conflicts.length > 0 && !force) {
      const byManager = [...new Set(conflicts.map((c) => c.manager))];
      const head = `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}`;
      const message =
        conflicts.length === 1
          ? `${head}: conflict with "${conflicts[0]?.manager}" using ${conflicts[0]?.apiVersion}: ${conflicts[0]?.path}`
          : `${head}: ${byManager
              .map(
                (m) =>
                  `conflicts with "${m}" using ${conflicts.find((c) => c.manager === m)?.apiVersion}:\n${conflicts
                    .filter((c) => c.manager === m)
                    .map((c) => `- ${c.path}`)
                    .join('\n')}`,
              )
              .join('\n')}`;
      throw new ApiError(409, 'Conflict', message, {
        causes: conflicts.map((c) => ({
          reason: 'FieldManagerConflict',
          message: `conflict with "${c.manager}" using ${c.apiVersion}`,
          field: c.path,
        })),
      });
    }
    if (checkOnly) return;
    for (const c of conflicts) managers.get(c.manager)?.fields.delete(c.key);
    managers.set(manager, { operation: 'Apply', apiVersion, time: rfc3339(), fields });
    this.byObject.set(uid, managers);
  }

  /** A non-apply write: the manager takes every field it changed; removed fields leave every manager. */
  update(
    before: KubeObject | undefined,
    after: KubeObject,
    uid: string,
    manager: string,
    apiVersion: string,
    subresource?: string,
  ): void {
    const managers = this.byObject.get(uid) ?? new Map<string, ManagerEntry>();
    const oldFields = before ? fieldsOf(before, subresource === 'status') : new Map<string, Leaf>();
    const newFields = fieldsOf(after, subresource === 'status');
    const changed = [...newFields].filter(
      ([k, leaf]) => !oldFields.has(k) || !deepEqual(oldFields.get(k)?.value, leaf.value),
    );
    const removed = [...oldFields.keys()].filter((k) => !newFields.has(k));
    for (const entry of managers.values()) {
      for (const [k] of changed) entry.fields.delete(k);
      for (const k of removed) entry.fields.delete(k);
    }
    const mine = managers.get(manager);
    const fields: FieldSet = new Map(mine && mine.operation === 'Update' ? mine.fields : []);
    for (const [k, leaf] of changed) fields.set(k, leaf);
    if (fields.size > 0 || !mine)
      managers.set(manager, {
        operation: 'Update',
        apiVersion,
        time: rfc3339(),
        fields,
        ...(subresource ? { subresource } : {}),
      });
    this.byObject.set(uid, managers);
  }

  forget(uid: string): void {
    this.byObject.delete(uid);
  }

  /** metadata.managedFields as the API server renders it. */
  render(uid: string): JsonObject[] | undefined {
    const managers = this.byObject.get(uid);
    if (!managers) return undefined;
    const out: JsonObject[] = [];
    for (const [manager, e] of managers) {
      if (e.fields.size === 0) continue;
      out.push({
        manager,
        operation: e.operation,
        apiVersion: e.apiVersion,
        time: e.time,
        fieldsType: 'FieldsV1',
        fieldsV1: fieldsV1(e.fields),
        ...(e.subresource ? { subresource: e.subresource } : {}),
      });
    }
    return out.length ? out : undefined;
  }
}
