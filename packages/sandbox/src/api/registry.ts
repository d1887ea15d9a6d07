import { applyDefaults, validate, IpAllocator } from './admission';
import { alreadyExists, ApiError, badRequest, conflict, invalid, notFound, unsupportedMediaType } from './errors';
import { FieldManagers } from './managed-fields';
import { jsonPatch, mergePatch, serverSideApply, strategicMergePatch } from './patch';
import { apiVersionOf, R, resourceKey, type ResourceDef } from './resources';
import type { Store } from '../store/store';
import {
  clone,
  deepEqual,
  isPlainObject,
  newUid,
  randomSuffix,
  rfc3339,
  type JsonObject,
  type KubeObject,
} from '../util';

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  /** 'status' writes only the status; undefined writes everything but the status (for status-subresource kinds). */
  subresource?: 'status';
  /** Controllers write status through the main resource without losing it. */
  asController?: boolean;
  /** Server-side apply: the applied configuration and whether to take fields from other managers. */
  apply?: { body: KubeObject; force: boolean };
}

export interface DeleteOptions {
  dryRun?: boolean;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export const PATCH_CONTENT_TYPES: Record<string, PatchType> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+cbor': 'apply',
};

/**
 * Whether a write finishes a pending deletion: the last finalizer was just removed. (Terminating
 * pods without finalizers are removed by the kubelet, namespaces by their controller.)
 */
const finishesDeletion = (current: KubeObject, next: KubeObject): boolean =>
  !!next.metadata.deletionTimestamp &&
  (current.metadata.finalizers ?? []).length > 0 &&
  (next.metadata.finalizers ?? []).length === 0;

/**
 * API semantics over the store: defaults, validation, uid/generation/resourceVersion bookkeeping,
 * optimistic concurrency, patches, dry runs and graceful deletion. The HTTP layer and the
 * controllers both write through here, so both see the same rules.
 */
export class Registry {
  readonly ips = new IpAllocator();
  /** Last configuration applied per object and field manager (server-side apply). */
  private readonly applied = new Map<string, JsonObject>();
  /** Who owns which fields (server-side apply conflicts, metadata.managedFields). */
  private readonly managers = new FieldManagers();

  constructor(readonly store: Store) {}

  tryGet(def: ResourceDef, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.store.get(resourceKey(def), def.namespaced ? namespace : undefined, name);
  }

  get(def: ResourceDef, namespace: string | undefined, name: string): KubeObject {
    const found = this.tryGet(def, namespace, name);
    if (!found) throw notFound(def, name);
    return found;
  }

  list(def: ResourceDef, namespace?: string): KubeObject[] {
    return this.store.list(resourceKey(def), def.namespaced ? namespace : undefined);
  }

  create(def: ResourceDef, namespace: string | undefined, input: KubeObject, opts: WriteOptions = {}): KubeObject {
    const o = clone(input);
    if (!isPlainObject(o.metadata)) o.metadata = {};
    o.apiVersion = apiVersionOf(def);
    o.kind = def.kind;
    normalize(o);
    const meta = o.metadata;
    if (def.namespaced) {
      if (meta.namespace && namespace && meta.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = namespace ?? meta.namespace ?? 'default';
      this.checkNamespaceWritable(meta.namespace);
    } else delete meta.namespace;
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${randomSuffix()}`;
    if (meta.name && this.tryGet(def, meta.namespace, meta.name)) throw alreadyExists(def, meta.name);
    if (meta.resourceVersion) throw badRequest('resourceVersion should not be set on objects to be created');
    meta.uid = newUid();
    meta.creationTimestamp = rfc3339();
    delete meta.deletionTimestamp;
    if (def.tracksGeneration) meta.generation = 1;
    if (def.statusSubresource && !opts.asController && def.kind !== 'Pod' && def.kind !== 'Node') delete o.status;
    applyDefaults(def.kind, o, this.ips);
    const causes = validate(def.kind, o);
    if (causes.length) throw invalid(def, meta.name ?? '', causes);
    if (opts.fieldManager && !opts.asController && !opts.dryRun) {
      if (opts.apply)
        this.managers.apply(
          undefined,
          meta.uid,
          opts.fieldManager,
          opts.apply.body,
          opts.apply.force,
          o.apiVersion ?? 'v1',
        );
      else this.managers.update(undefined, input, meta.uid, opts.fieldManager, o.apiVersion ?? 'v1');
      const rendered = this.managers.render(meta.uid);
      if (rendered) meta.managedFields = rendered;
      else delete meta.managedFields;
    } else delete meta.managedFields;
    if (opts.dryRun) return { ...o, metadata: { ...o.metadata } };
    return this.store.put(resourceKey(def), o, 'ADDED');
  }

  update(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    input: KubeObject,
    opts: WriteOptions = {},
  ): KubeObject {
    const current = this.get(def, namespace, name);
    if (!isPlainObject(input) || !isPlainObject(input.metadata)) throw badRequest('the object has no metadata');
    if (input.metadata.name && input.metadata.name !== name) {
      throw badRequest(`the name of the object (${input.metadata.name}) does not match the name on the URL (${name})`);
    }
    const rv = input.metadata.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) throw conflict(def, name);
    return this.write(def, current, input, opts);
  }

  patch(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    body: unknown,
    opts: WriteOptions & { force?: boolean } = {},
  ): KubeObject {
    const current = this.tryGet(def, namespace, name);
    if (!current) {
      if (type !== 'apply') throw notFound(def, name);
      if (!isPlainObject(body)) throw badRequest('apply: the body must be an object');
      if (!opts.fieldManager)
        throw badRequest('PATCH with apply requires fieldManager (the fieldManager query parameter)');
      const created = this.create(
        def,
        namespace,
        { ...(body as KubeObject), metadata: { ...(body as KubeObject).metadata, name } },
        { ...opts, apply: { body: body as KubeObject, force: !!opts.force } },
      );
      if (!opts.dryRun) this.rememberApplied(def, created, opts.fieldManager, body as JsonObject);
      return created;
    }
    // A patch may only carry a resourceVersion that still matches (optimistic concurrency through patches).
    const patchedRv = isPlainObject(body) && isPlainObject(body.metadata) ? body.metadata.resourceVersion : undefined;
    if (typeof patchedRv === 'string' && patchedRv !== current.metadata.resourceVersion) throw conflict(def, name);
    const base = current;
    let next: unknown;
    switch (type) {
      case 'json':
        next = jsonPatch(base, body);
        break;
      case 'merge':
        next = mergePatch(base, body);
        break;
      case 'strategic':
        // Custom resources have no Go types to carry patch strategies: the API server refuses SMP for them.
        if (def.custom)
          throw unsupportedMediaType('application/strategic-merge-patch+json', [
            'application/json-patch+json',
            'application/merge-patch+json',
            'application/apply-patch+yaml',
          ]);
        next = strategicMergePatch(base, body);
        break;
      case 'apply': {
        if (!isPlainObject(body)) throw badRequest('apply: the body must be an object');
        if (!opts.fieldManager)
          throw badRequest('PATCH with apply requires fieldManager (the fieldManager query parameter)');
        const previous = this.applied.get(this.appliedKey(def, current, opts.fieldManager));
        next = serverSideApply(base, body, previous);
        // Conflicts are decided against the live object before anything is written.
        this.managers.apply(
          current,
          current.metadata.uid ?? '',
          opts.fieldManager,
          body as KubeObject,
          !!opts.force,
          current.apiVersion ?? 'v1',
          true,
        );
        break;
      }
    }
    if (!isPlainObject(next) || !isPlainObject(next.metadata))
      throw badRequest('the patch removed the object metadata');
    const patched = next as KubeObject;
    // The patched object carries the current resourceVersion unless the patch changed it; no second check.
    patched.metadata.resourceVersion = current.metadata.resourceVersion;
    const written = this.write(
      def,
      current,
      patched,
      { ...opts, ...(type === 'apply' ? { apply: { body: body as KubeObject, force: !!opts.force } } : {}) },
      type === 'apply' ? 'Apply' : 'Update',
    );
    if (type === 'apply' && !opts.dryRun) this.rememberApplied(def, written, opts.fieldManager, body as JsonObject);
    return written;
  }

  /**
   * Deletes gracefully: objects with finalizers (or foreground deletion) and running pods get a
   * deletionTimestamp and stay until their finalizers / kubelet let go; everything else goes now.
   */
  delete(def: ResourceDef, namespace: string | undefined, name: string, opts: DeleteOptions = {}): KubeObject {
    const current = this.get(def, namespace, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== current.metadata.uid) {
      throw conflict(
        def,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${current.metadata.uid}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict(
        def,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${current.metadata.resourceVersion}`,
      );
    }
    if (opts.dryRun) return current;
    const key = resourceKey(def);
    if (opts.propagationPolicy === 'Orphan') this.orphanDependents(current);
    const finalizers = [...(current.metadata.finalizers ?? [])];
    if (opts.propagationPolicy === 'Foreground' && !finalizers.includes('foregroundDeletion'))
      finalizers.push('foregroundDeletion');
    const graceful =
      def.kind === 'Pod' && opts.gracePeriodSeconds !== 0 && !!(current.spec as JsonObject | undefined)?.nodeName;
    const isNamespace = def.kind === 'Namespace';
    if (finalizers.length > 0 || graceful || isNamespace) {
      if (current.metadata.deletionTimestamp) return current; // already terminating
      const terminating = clone(current);
      terminating.metadata.deletionTimestamp = rfc3339();
      terminating.metadata.finalizers = finalizers.length ? finalizers : undefined;
      if (graceful) {
        const spec = current.spec as JsonObject;
        terminating.metadata.deletionGracePeriodSeconds =
          opts.gracePeriodSeconds ?? (spec.terminationGracePeriodSeconds as number | undefined) ?? 30;
      }
      if (isNamespace) terminating.status = { ...(terminating.status as JsonObject), phase: 'Terminating' };
      if (terminating.metadata.finalizers === undefined) delete terminating.metadata.finalizers;
      return this.store.put(key, terminating, 'MODIFIED');
    }
    this.forgetApplied(current);
    return this.store.remove(key, current.metadata.namespace, name) ?? current;
  }

  /**
   * Removes an object whose deletion was pending (kubelet finished, finalizers gone). A pod the kubelet
   * let go of that still has finalizers stays, terminating, until the last one is removed (as in
   * Kubernetes: finishesDeletion removes it then).
   */
  finalizeDeletion(def: ResourceDef, namespace: string | undefined, name: string): void {
    const current = this.tryGet(def, namespace, name);
    if (!current) return;
    if (def.kind === 'Pod' && (current.metadata.finalizers ?? []).length > 0) return;
    this.forgetApplied(current);
    this.store.remove(resourceKey(def), current.metadata.namespace, name);
  }

  /**
   * Read-modify-write for controllers (single-threaded, so no conflict in between). The mutator
   * may change spec, metadata and status; nothing is written when it changes nothing.
   */
  mutate(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
    mutator: (o: KubeObject) => void,
  ): KubeObject | undefined {
    const current = this.tryGet(def, namespace, name);
    if (!current) return undefined;
    const next = clone(current);
    mutator(next);
    if (deepEqual(next, current)) return current;
    return this.write(def, current, next, { asController: true });
  }

  private write(
    def: ResourceDef,
    current: KubeObject,
    input: KubeObject,
    opts: WriteOptions,
    operation: 'Update' | 'Apply' = 'Update',
  ): KubeObject {
    const next = clone(input);
    normalize(next);
    next.apiVersion = apiVersionOf(def);
    next.kind = def.kind;
    const meta = next.metadata;
    // System-owned metadata cannot be changed by clients.
    meta.name = current.metadata.name;
    meta.namespace = current.metadata.namespace;
    meta.uid = current.metadata.uid;
    meta.creationTimestamp = current.metadata.creationTimestamp;
    meta.resourceVersion = current.metadata.resourceVersion;
    if (!opts.asController) {
      if (current.metadata.deletionTimestamp) meta.deletionTimestamp = current.metadata.deletionTimestamp;
      else delete meta.deletionTimestamp;
      if (current.metadata.deletionGracePeriodSeconds !== undefined)
        meta.deletionGracePeriodSeconds = current.metadata.deletionGracePeriodSeconds;
    }
    if (def.statusSubresource && !opts.asController) {
      if (opts.subresource === 'status') {
        // A status write changes only the status (and leaves spec and metadata as they were).
        const onlyStatus = clone(current);
        onlyStatus.status = next.status;
        return this.commit(def, current, onlyStatus, opts, operation);
      }
      if (current.status !== undefined) next.status = clone(current.status);
      else delete next.status;
    }
    if (meta.generation === undefined && current.metadata.generation !== undefined)
      meta.generation = current.metadata.generation;
    applyDefaults(def.kind, next, this.ips, current);
    const causes = validate(def.kind, next, current);
    if (causes.length) throw invalid(def, meta.name ?? '', causes);
    return this.commit(def, current, next, opts, operation);
  }

  private commit(
    def: ResourceDef,
    current: KubeObject,
    next: KubeObject,
    opts: WriteOptions,
    operation: 'Update' | 'Apply',
  ): KubeObject {
    if (def.tracksGeneration) {
      const specChanged = !deepEqual(withoutMetaAndStatus(current), withoutMetaAndStatus(next));
      next.metadata.generation = (current.metadata.generation ?? 1) + (specChanged ? 1 : 0);
    }
    if ((next.metadata.finalizers ?? []).length === 0) delete next.metadata.finalizers;
    // Unchanged writes are no-ops, as in Kubernetes: no new resourceVersion, no watch event.
    const compare = (o: KubeObject): KubeObject => ({ ...o, metadata: { ...o.metadata, managedFields: undefined } });
    const unchanged = deepEqual(compare(next), compare(current));
    const uid = current.metadata.uid ?? '';
    if (opts.fieldManager && !opts.asController && !opts.dryRun) {
      if (operation === 'Apply' && opts.apply)
        this.managers.apply(
          current,
          uid,
          opts.fieldManager,
          opts.apply.body,
          opts.apply.force,
          next.apiVersion ?? 'v1',
        );
      else if (!unchanged)
        this.managers.update(current, next, uid, opts.fieldManager, next.apiVersion ?? 'v1', opts.subresource);
    }
    if (unchanged && operation !== 'Apply') return current;
    const rendered = this.managers.render(uid);
    if (rendered) next.metadata.managedFields = rendered;
    else delete next.metadata.managedFields;
    // An apply that changes nothing still records its ownership; only then is it written.
    const withoutTimes = (m: unknown): unknown =>
      Array.isArray(m) ? m.map((e: JsonObject) => ({ ...e, time: undefined })) : m;
    if (unchanged && deepEqual(withoutTimes(next.metadata.managedFields), withoutTimes(current.metadata.managedFields)))
      return current;
    if (opts.dryRun) return next;
    if (finishesDeletion(current, next)) {
      this.forgetApplied(next);
      return this.store.remove(resourceKey(def), next.metadata.namespace, next.metadata.name ?? '') ?? next;
    }
    return this.store.put(resourceKey(def), next, 'MODIFIED');
  }

  private checkNamespaceWritable(namespace: string): void {
    const ns = this.tryGet(R.namespaces, undefined, namespace);
    if (!ns) throw notFound(R.namespaces, namespace);
    if (ns.metadata.deletionTimestamp) {
      throw new ApiError(
        403,
        'Forbidden',
        `unable to create new content in namespace ${namespace} because it is being terminated`,
        {
          name: namespace,
          kind: 'namespaces',
        },
      );
    }
  }

  private orphanDependents(owner: KubeObject): void {
    const uid = owner.metadata.uid;
    for (const def of [R.replicasets, R.pods, R.endpoints]) {
      for (const dep of this.list(def, owner.metadata.namespace)) {
        if (!dep.metadata.ownerReferences?.some((r) => r.uid === uid)) continue;
        this.mutate(def, dep.metadata.namespace, dep.metadata.name ?? '', (o) => {
          o.metadata.ownerReferences = o.metadata.ownerReferences?.filter((r) => r.uid !== uid);
          if (o.metadata.ownerReferences?.length === 0) delete o.metadata.ownerReferences;
        });
      }
    }
  }

  private appliedKey(def: ResourceDef, o: KubeObject, manager: string): string {
    return `${resourceKey(def)}|${o.metadata.uid}|${manager}`;
  }

  private rememberApplied(def: ResourceDef, o: KubeObject, manager: string | undefined, body: JsonObject): void {
    if (manager) this.applied.set(this.appliedKey(def, o, manager), clone(body));
  }

  private forgetApplied(o: KubeObject): void {
    this.managers.forget(o.metadata.uid ?? '');
    for (const key of this.applied.keys()) if (key.includes(`|${o.metadata.uid}|`)) this.applied.delete(key);
  }
}

/**
 * Drops nulls outside status, as decoding into Go types does (`creationTimestamp: null` in pod
 * templates that kubectl sends back on `rollout undo` must not make templates differ).
 */
function pruneNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pruneNulls);
  if (!isPlainObject(value)) return value;
  for (const [k, v] of Object.entries(value)) {
    if (v === null) delete value[k];
    else pruneNulls(v);
  }
  return value;
}

function normalize(o: KubeObject): void {
  for (const key of Object.keys(o)) if (key !== 'status' && o[key] === null) delete o[key];
  for (const key of Object.keys(o)) if (key !== 'status') pruneNulls(o[key]);
}

function withoutMetaAndStatus(o: KubeObject): JsonObject {
  const { metadata: _m, status: _s, ...rest } = o;
  return rest;
}
