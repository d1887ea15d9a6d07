import { badRequest, ApiError } from './errors';
import { clone, deepEqual, isPlainObject, type JsonObject } from '../util';

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return clone(patch);
  const result: JsonObject = isPlainObject(target) ? clone(target) : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: unknown;
}

const unescapePointer = (token: string): string => token.replace(/~1/g, '/').replace(/~0/g, '~');

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw badRequest(`json patch: invalid path "${path}"`);
  return path.slice(1).split('/').map(unescapePointer);
}

/** RFC 6902 JSON patch (what `kubectl rollout undo` sends). */
export function jsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest('json patch: the body must be an array of operations');
  let root = clone(doc);
  for (const raw of ops as JsonPatchOp[]) {
    const op = raw.op;
    const tokens = pointer(raw.path);
    const get = (t: string[]): unknown =>
      t.reduce<unknown>(
        (cur, k) => (Array.isArray(cur) ? cur[Number(k)] : isPlainObject(cur) ? cur[k] : undefined),
        root,
      );
    const parentOf = (t: string[]): { parent: unknown; key: string } => {
      const parent = get(t.slice(0, -1));
      if (!Array.isArray(parent) && !isPlainObject(parent)) {
        throw new ApiError(
          422,
          'Invalid',
          `jsonpatch ${op} operation does not apply: doc is missing path: "${raw.path}"`,
        );
      }
      return { parent, key: t[t.length - 1] ?? '' };
    };
    const add = (t: string[], value: unknown): void => {
      if (t.length === 0) {
        root = clone(value);
        return;
      }
      const { parent, key } = parentOf(t);
      if (Array.isArray(parent)) {
        const idx = key === '-' ? parent.length : Number(key);
        if (!Number.isInteger(idx) || idx < 0 || idx > parent.length)
          throw new ApiError(422, 'Invalid', `jsonpatch: index out of range in "${raw.path}"`);
        parent.splice(idx, 0, clone(value));
      } else (parent as JsonObject)[key] = clone(value);
    };
    const remove = (t: string[]): unknown => {
      const { parent, key } = parentOf(t);
      if (Array.isArray(parent)) {
        const idx = Number(key);
        if (!(idx >= 0 && idx < parent.length))
          throw new ApiError(
            422,
            'Invalid',
            `jsonpatch remove operation does not apply: doc is missing path: "${raw.path}"`,
          );
        return parent.splice(idx, 1)[0];
      }
      const obj = parent as JsonObject;
      if (!(key in obj))
        throw new ApiError(
          422,
          'Invalid',
          `jsonpatch remove operation does not apply: doc is missing key: ${raw.path}`,
        );
      const old = obj[key];
      delete obj[key];
      return old;
    };
    switch (op) {
      case 'add':
        add(tokens, raw.value);
        break;
      case 'remove':
        remove(tokens);
        break;
      case 'replace':
        if (tokens.length === 0) root = clone(raw.value);
        else {
          remove(tokens);
          add(tokens, raw.value);
        }
        break;
      case 'move': {
        const value = remove(pointer(raw.from ?? ''));
        add(tokens, value);
        break;
      }
      case 'copy':
        add(tokens, get(pointer(raw.from ?? '')));
        break;
      case 'test':
        if (!deepEqual(get(tokens), raw.value))
          throw new ApiError(422, 'Invalid', `jsonpatch test operation does not apply: is not equal: "${raw.path}"`);
        break;
      default:
        throw badRequest(`json patch: unsupported operation "${op}"`);
    }
  }
  return root;
}

/**
 * Merge keys of Kubernetes lists, by field name (the API's patchMergeKey tags). Field names are
 * unique enough across the built-in types the sandbox serves; `ports` depends on what the items hold.
 */
export function mergeKeyFor(field: string, items: unknown[]): string | undefined {
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
    case 'resourceClaims':
    case 'readinessGates':
      return field === 'readinessGates' ? 'conditionType' : 'name';
    case 'volumeMounts':
      return 'mountPath';
    case 'volumeDevices':
      return 'devicePath';
    case 'hostAliases':
      return 'ip';
    case 'topologySpreadConstraints':
      return 'topologyKey';
    case 'conditions':
      return 'type';
    // Gateway spec.listeners and status.listeners (+listType=map, +listMapKey=name). HTTPRoute rules,
    // matches, filters, backendRefs, parentRefs and status.parents are atomic lists: no key, replaced whole.
    case 'listeners':
      return 'name';
    case 'ownerReferences':
      return 'uid';
    case 'ports': {
      const first = items.find(isPlainObject);
      if (first && 'containerPort' in first) return 'containerPort';
      return 'port';
    }
    default:
      return undefined;
  }
}

/** Primitive lists that merge as sets rather than being replaced. */
const MERGED_PRIMITIVE_LISTS = new Set(['finalizers']);

const DIRECTIVE = '$patch';
const RETAIN_KEYS = '$retainKeys';
const SET_ORDER = '$setElementOrder/';
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/';

/** Strategic merge patch as far as kubectl (set image, apply, annotate) and helm 3's three-way merge use it. */
export function strategicMergePatch(original: unknown, patch: unknown): unknown {
  return mergeStrategic(original, patch, '');
}

function mergeStrategic(original: unknown, patch: unknown, field: string): unknown {
  if (!isPlainObject(patch)) return stripDirectives(patch);
  const directive = patch[DIRECTIVE];
  if (directive === 'replace') {
    const copy = clone(patch);
    delete copy[DIRECTIVE];
    return stripDirectives(copy);
  }
  if (directive === 'delete') return undefined;
  const result: JsonObject = isPlainObject(original) ? clone(original) : {};
  const orders: [string, unknown[]][] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (key === DIRECTIVE || key === RETAIN_KEYS) continue;
    if (key.startsWith(SET_ORDER)) {
      if (Array.isArray(value)) orders.push([key.slice(SET_ORDER.length), value]);
      continue;
    }
    if (key.startsWith(DELETE_PRIMITIVE)) {
      const target = key.slice(DELETE_PRIMITIVE.length);
      const current = result[target];
      if (Array.isArray(current) && Array.isArray(value))
        result[target] = current.filter((v) => !value.some((d) => deepEqual(d, v)));
      continue;
    }
    if (value === null) {
      delete result[key];
      continue;
    }
    if (Array.isArray(value)) {
      const merged = mergeList(key, result[key], value);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
      continue;
    }
    if (isPlainObject(value)) {
      const merged = mergeStrategic(result[key], value, key);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
      continue;
    }
    result[key] = value;
  }
  const retain = patch[RETAIN_KEYS];
  if (Array.isArray(retain)) {
    for (const k of Object.keys(result)) if (!retain.includes(k)) delete result[k];
  }
  for (const [listField, order] of orders) {
    const list = result[listField];
    if (Array.isArray(list)) result[listField] = applyOrder(listField, list, order);
  }
  void field;
  return result;
}

function mergeList(field: string, original: unknown, patch: unknown[]): unknown[] | undefined {
  const current = Array.isArray(original) ? clone(original) : [];
  // A list-level {"$patch": "replace"} element means: replace the whole list with the other elements.
  if (patch.some((p) => isPlainObject(p) && p[DIRECTIVE] === 'replace' && Object.keys(p).length === 1)) {
    return patch.filter((p) => !(isPlainObject(p) && p[DIRECTIVE] === 'replace')).map(stripDirectives);
  }
  if (MERGED_PRIMITIVE_LISTS.has(field) && patch.every((p) => !isPlainObject(p))) {
    const out = [...current];
    for (const p of patch) if (!out.some((v) => deepEqual(v, p))) out.push(p);
    return out;
  }
  const key = mergeKeyFor(field, [...patch, ...current]);
  if (!key) return patch.map(stripDirectives);
  for (const item of patch) {
    if (!isPlainObject(item)) continue;
    const idx = current.findIndex((c) => isPlainObject(c) && deepEqual(c[key], item[key]));
    if (item[DIRECTIVE] === 'delete') {
      if (idx >= 0) current.splice(idx, 1);
      continue;
    }
    if (idx >= 0) current[idx] = mergeStrategic(current[idx], item, field);
    else current.push(mergeStrategic(undefined, item, field));
  }
  return current;
}

function applyOrder(field: string, list: unknown[], order: unknown[]): unknown[] {
  const key = mergeKeyFor(field, list);
  const keyOf = (v: unknown): unknown => (key && isPlainObject(v) ? v[key] : v);
  const orderKeys = order.map(keyOf);
  const indexOf = (v: unknown): number => {
    const i = orderKeys.findIndex((k) => deepEqual(k, keyOf(v)));
    return i < 0 ? Number.MAX_SAFE_INTEGER : i;
  };
  return [...list].sort((a, b) => indexOf(a) - indexOf(b));
}

function stripDirectives(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isPlainObject(value)) return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === DIRECTIVE || k === RETAIN_KEYS || k.startsWith(SET_ORDER) || k.startsWith(DELETE_PRIMITIVE)) continue;
    out[k] = stripDirectives(v);
  }
  return out;
}

/**
 * Server-side apply, simplified: the applied configuration is merged onto the live object with
 * strategic-merge semantics, and fields this field manager applied last time but no longer sets are
 * removed. Managers' previous configurations are kept by the caller (not in managedFields).
 */
export function serverSideApply(live: unknown, applied: JsonObject, previous: JsonObject | undefined): unknown {
  let base = live;
  if (previous) base = removeDropped(base, previous, applied);
  return strategicMergePatch(base, applied);
}

function removeDropped(live: unknown, previous: unknown, applied: unknown): unknown {
  if (!isPlainObject(live) || !isPlainObject(previous)) return live;
  const out = clone(live);
  const now = isPlainObject(applied) ? applied : {};
  for (const [k, prevValue] of Object.entries(previous)) {
    if (!(k in now)) delete out[k];
    else if (isPlainObject(prevValue)) out[k] = removeDropped(out[k], prevValue, now[k]);
  }
  return out;
}
