/**
 * The weights of a Gateway API HTTPRoute (gateway.networking.k8s.io/v1) for a weighted canary: blue's
 * Service and green's `<service>-green` side by side in every rule that sends to blue.
 *
 * Why a JSON patch and not server-side apply: in the Gateway API CRDs `spec.rules` and each rule's
 * `backendRefs` carry no `x-kubernetes-list-type` (and no list-map keys), so they are atomic lists:
 * an apply that sets one weight owns, and replaces, the whole `rules` list — every other rule,
 * backend and filter would become ours and be overwritten with what we sent. A JSON patch names
 * exactly the paths it changes; its `test` operations (the route's generation, which only a spec
 * change moves — the gateway's status writes move resourceVersion all the time — and the name and
 * weight of each backendRef it touches) make it fail instead of writing over an edit made since we
 * read the route; updateRoute then reads it again and recomputes.
 */
import type * as k8s from '@kubernetes/client-node';
import { apiClient, type Kube } from './client';
import { apiFailure, unlessNotFound } from './errors';

export const ROUTE_GROUP = 'gateway.networking.k8s.io';
const ROUTE_VERSION = 'v1';
const ROUTE_PLURAL = 'httproutes';
/** The field manager of every write the actions make (managedFields names it). */
export const FIELD_MANAGER = 'veloz-deploy-actions';

export interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  weight?: number;
  filters?: unknown[];
}

export interface HttpRouteRule {
  name?: string;
  matches?: unknown[];
  filters?: unknown[];
  backendRefs?: BackendRef[];
  [field: string]: unknown;
}

export interface HttpRoute {
  apiVersion?: string;
  kind?: string;
  metadata?: k8s.V1ObjectMeta;
  spec?: { parentRefs?: unknown[]; hostnames?: string[]; rules?: HttpRouteRule[]; [field: string]: unknown };
  status?: unknown;
}

export type JsonPatchOp =
  { op: 'test' | 'add' | 'replace'; path: string; value: unknown } | { op: 'remove'; path: string };

/** Weights per rule index: the weight blue's backendRef had (undefined: unset, i.e. 1). */
export type BlueWeights = Record<string, number | null>;

/** A backendRef that names this Service in the route's namespace (group '' and kind Service by default). */
export function refersTo(ref: BackendRef, service: string, route: HttpRoute): boolean {
  const ns = route.metadata?.namespace;
  return (
    ref.name === service &&
    (ref.group ?? '') === '' &&
    (ref.kind ?? 'Service') === 'Service' &&
    (ref.namespace === undefined || ref.namespace === ns)
  );
}

/** Indices of the rules that send to blue's Service. */
export function rulesTo(route: HttpRoute, service: string): number[] {
  return (route.spec?.rules ?? []).flatMap((rule, i) =>
    (rule.backendRefs ?? []).some((ref) => refersTo(ref, service, route)) ? [i] : [],
  );
}

/** blue's weight in each rule that sends to it, as the route has it now (the abort restores these). */
export function blueWeights(route: HttpRoute, blue: string): BlueWeights {
  const weights: BlueWeights = {};
  for (const i of rulesTo(route, blue)) {
    const ref = route.spec!.rules![i]!.backendRefs!.find((r) => refersTo(r, blue, route));
    weights[String(i)] = ref?.weight ?? null;
  }
  return weights;
}

function refIndex(route: HttpRoute, rule: number, service: string): number {
  return (route.spec?.rules?.[rule]?.backendRefs ?? []).findIndex((r) => refersTo(r, service, route));
}

const refPath = (rule: number, ref: number): string => `/spec/rules/${rule}/backendRefs/${ref}`;

/** Set one weight (or with null, unset it), tested against what was read. */
function setWeight(ops: JsonPatchOp[], path: string, ref: BackendRef, want: number | null): void {
  const have = ref.weight ?? null;
  if (have === want) return;
  ops.push({ op: 'test', path: `${path}/name`, value: ref.name });
  if (ref.weight !== undefined) ops.push({ op: 'test', path: `${path}/weight`, value: ref.weight });
  if (want === null) ops.push({ op: 'remove', path: `${path}/weight` });
  else ops.push({ op: ref.weight === undefined ? 'add' : 'replace', path: `${path}/weight`, value: want });
}

/** With the route's generation tested first, or nothing when there is nothing to change. */
function guarded(route: HttpRoute, ops: JsonPatchOp[]): JsonPatchOp[] {
  if (ops.length === 0) return [];
  const generation = route.metadata?.generation;
  return generation === undefined ? ops : [{ op: 'test', path: '/metadata/generation', value: generation }, ...ops];
}

/**
 * The patch giving blue `blueWeight` and green `greenWeight` in every rule that sends to blue; green's
 * backendRef is added beside blue's (same port) where missing. Empty when the route already says so.
 */
export function weightPatch(
  route: HttpRoute,
  services: { blue: string; green: string },
  weights: { blue: number; green: number },
): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  for (const i of rulesTo(route, services.blue)) {
    const refs = route.spec!.rules![i]!.backendRefs!;
    const b = refIndex(route, i, services.blue);
    const blue = refs[b]!;
    setWeight(ops, refPath(i, b), blue, weights.blue);
    const g = refIndex(route, i, services.green);
    if (g >= 0) setWeight(ops, refPath(i, g), refs[g]!, weights.green);
    else {
      const green: BackendRef = { name: services.green, weight: weights.green };
      if (blue.port !== undefined) green.port = blue.port;
      ops.push({ op: 'add', path: `/spec/rules/${i}/backendRefs/-`, value: green });
    }
  }
  return guarded(route, ops);
}

/** The abort's first write: green's weight 0 in every rule (no new request reaches it), nothing else. */
export function zeroGreenPatch(route: HttpRoute, green: string): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  (route.spec?.rules ?? []).forEach((rule, i) => {
    const g = refIndex(route, i, green);
    if (g >= 0) setWeight(ops, refPath(i, g), rule.backendRefs![g]!, 0);
  });
  return guarded(route, ops);
}

/**
 * The abort's second write: green's backendRef removed from every rule, blue's weight back to what it
 * was before the canary (unset again if it was unset).
 */
export function removalPatch(
  route: HttpRoute,
  services: { blue: string; green: string },
  original: BlueWeights,
): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [];
  (route.spec?.rules ?? []).forEach((rule, i) => {
    const refs = rule.backendRefs ?? [];
    const b = refIndex(route, i, services.blue);
    if (b >= 0 && String(i) in original) setWeight(ops, refPath(i, b), refs[b]!, original[String(i)] ?? null);
    const g = refIndex(route, i, services.green);
    if (g < 0) return;
    ops.push({ op: 'test', path: `${refPath(i, g)}/name`, value: services.green });
    ops.push({ op: 'remove', path: refPath(i, g) });
  });
  return guarded(route, ops);
}

/** Green's weight in the first rule that sends to it, undefined when no rule does. */
export function greenWeight(route: HttpRoute, green: string): number | undefined {
  for (const rule of route.spec?.rules ?? []) {
    const ref = (rule.backendRefs ?? []).find((r) => refersTo(r, green, route));
    if (ref) return ref.weight ?? 1;
  }
  return undefined;
}

function customObjects(kube: Kube): k8s.CustomObjectsApi {
  return apiClient(kube, kube.lib.CustomObjectsApi);
}

export async function readRoute(kube: Kube, namespace: string, name: string): Promise<HttpRoute | undefined> {
  return (await unlessNotFound(
    customObjects(kube).getNamespacedCustomObject({
      group: ROUTE_GROUP,
      version: ROUTE_VERSION,
      namespace,
      plural: ROUTE_PLURAL,
      name,
    }),
  )) as HttpRoute | undefined;
}

/** Applies a patch made by weightPatch/removalPatch; nothing is sent when it is empty. Returns the route after. */
export async function patchRoute(
  kube: Kube,
  route: HttpRoute,
  ops: readonly JsonPatchOp[],
): Promise<HttpRoute | undefined> {
  if (ops.length === 0) return undefined;
  const namespace = route.metadata?.namespace ?? '';
  const name = route.metadata?.name ?? '';
  return (await customObjects(kube).patchNamespacedCustomObject(
    {
      group: ROUTE_GROUP,
      version: ROUTE_VERSION,
      namespace,
      plural: ROUTE_PLURAL,
      name,
      body: ops,
      fieldManager: FIELD_MANAGER,
    },
    kube.lib.setHeaderOptions('Content-Type', kube.lib.PatchStrategy.JsonPatch),
  )) as HttpRoute;
}

/**
 * On green, for a weighted canary: JSON {route, service, green, weight, blueWeights}. Abort and
 * promotion read it to find the route and give blue back the weights it had, whatever inputs
 * their own job was given.
 */
export const ROUTE_ANNOTATION = 'veloz.io/traffic-route';

export interface RouteRecord {
  route: string;
  /** Blue's Service, the one the route sent to before the canary. */
  service: string;
  /** Green's Service, `<service>-green`. */
  green: string;
  weight: number;
  blueWeights: BlueWeights;
}

export function routeRecordOf(green: k8s.V1Deployment | undefined): RouteRecord | undefined {
  const text = green?.metadata?.annotations?.[ROUTE_ANNOTATION];
  if (!text) return undefined;
  try {
    return JSON.parse(text) as RouteRecord;
  } catch {
    return undefined;
  }
}

export function greenServiceName(service: string): string {
  return `${service}-green`;
}

/**
 * The route as the patch would leave it (RFC 6902 add/replace/remove/test on plain JSON), for
 * `plan: true` and for checking a patch without a cluster. A failed `test` throws, as the server would.
 */
export function patched(route: HttpRoute, ops: readonly JsonPatchOp[]): HttpRoute {
  const doc = structuredClone(route) as unknown as Record<string, unknown>;
  for (const op of ops) {
    const keys = op.path
      .split('/')
      .slice(1)
      .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop()!;
    let parent: unknown = doc;
    for (const key of keys) parent = (parent as Record<string, unknown>)[key];
    const container = parent as Record<string, unknown> & unknown[];
    if (op.op === 'test') {
      if (JSON.stringify(container?.[last as never]) !== JSON.stringify(op.value))
        throw new Error(`JSON patch test failed at ${op.path}`);
    } else if (op.op === 'remove') {
      if (Array.isArray(container)) container.splice(Number(last), 1);
      else delete container[last];
    } else if (Array.isArray(container) && op.op === 'add') {
      if (last === '-') container.push(op.value);
      else container.splice(Number(last), 0, op.value);
    } else container[last] = op.value;
  }
  return doc as HttpRoute;
}

/**
 * Reads the route, computes the patch from what it says now, and applies it; a `test` that no longer
 * holds (someone edited the route in between: 422) means read again and recompute, a few times.
 * Returns the route as left, undefined when it does not exist; nothing is written when the patch is empty.
 */
export async function updateRoute(
  kube: Kube,
  namespace: string,
  name: string,
  compute: (route: HttpRoute) => JsonPatchOp[],
): Promise<{ route?: HttpRoute; written: boolean }> {
  for (let attempt = 0; ; attempt++) {
    const route = await readRoute(kube, namespace, name);
    if (!route) return { written: false };
    const ops = compute(route);
    if (ops.length === 0) return { route, written: false };
    try {
      return { route: await patchRoute(kube, route, ops), written: true };
    } catch (error) {
      if (apiFailure(error).code !== 422 || attempt >= 3) throw error;
    }
  }
}
