/**
 * The sandbox's Gateway API implementation: for each Gateway of a class it controls, a listener on
 * 127.0.0.1 (an ephemeral port; `listeners[0]` is the one served), and the status a real controller
 * writes: GatewayClass Accepted, Gateway addresses / Accepted / Programmed, HTTPRoute status.parents.
 */
import type { Registry } from '../api/registry';
import { R } from '../api/resources';
import { labelSelectorFromSpec } from '../api/selectors';
import { asPod, podReadySince } from '../controllers/helpers';
import type { Kubelet } from '../kubelet/kubelet';
import type { StoreEvent } from '../store/store';
import { coalesced, isPlainObject, rfc3339, type JsonObject, type KubeObject } from '../util';
import { GatewayListener, type GatewayTimeouts, type Resolution, type Upstream } from './listener';
import { backendRefsOf, matchRule, modifyRequestHeaders, pickBackend, refersTo, type RequestFacts } from './routing';

/** The GatewayClass every sandbox has (seeded), and the controller name it and its Gateways answer to. */
export const SANDBOX_GATEWAY_CLASS = 'veloz-sandbox';
export const SANDBOX_GATEWAY_CONTROLLER = 'sandbox.veloz.dev/gateway-controller';

const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const SWEEP_MS = 200;

const obj = (v: unknown): JsonObject => (isPlainObject(v) ? v : {});
const arr = (v: unknown): JsonObject[] => (Array.isArray(v) ? v.filter(isPlainObject) : []);
const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

/** A status condition that keeps its lastTransitionTime while its status stays the same. */
function condition(
  previous: unknown,
  type: string,
  ok: boolean,
  reason: string,
  message: string,
  generation: number | undefined,
): JsonObject {
  const status = ok ? 'True' : 'False';
  const old = arr(previous).find((c) => c.type === type);
  return {
    type,
    status,
    reason,
    message,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    lastTransitionTime: old?.status === status && old.lastTransitionTime ? old.lastTransitionTime : rfc3339(),
  };
}

function hostMatches(patterns: string[], host: string): boolean {
  if (patterns.length === 0) return true;
  const h = host.replace(/:\d+$/, '').toLowerCase();
  return patterns.some((p) =>
    p.startsWith('*.') ? h.endsWith(p.slice(1)) && h !== p.slice(2) : h === p.toLowerCase(),
  );
}

export class GatewayController {
  private readonly listeners = new Map<string, { uid: string; listener: GatewayListener; ready: boolean }>();
  private readonly roundRobin = new Map<string, number>();
  private unsubscribe: (() => void) | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly schedule = coalesced(
    () => this.reconcile(),
    () => this.stopped,
  );

  constructor(
    private readonly reg: Registry,
    private readonly kubelet: Kubelet,
    private readonly timeouts: GatewayTimeouts,
  ) {}

  start(): void {
    this.unsubscribe = this.reg.store.subscribe((e: StoreEvent) => {
      if (e.resource === '/pods') this.sweep();
      if (e.resource.startsWith(`${GATEWAY_GROUP}/`) || e.resource === '/services' || e.resource === '/namespaces')
        this.schedule();
    });
    // Engines stop inside the kubelet (a killed container) before the pod's status says so: sweep often.
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.sweeper) clearInterval(this.sweeper);
    await Promise.all([...this.listeners.values()].map((l) => l.listener.close()));
    this.listeners.clear();
  }

  /** `{"<namespace>/<gateway>": "http://127.0.0.1:PORT"}` for every Gateway whose listener is up. */
  urls(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, l] of [...this.listeners].sort(([a], [b]) => a.localeCompare(b)))
      if (l.ready) out[key] = l.listener.url;
    return out;
  }

  /** Open proxied connections per Gateway (for tests). */
  connections(key: string): number {
    return this.listeners.get(key)?.listener.connections ?? 0;
  }

  private sweep(): void {
    for (const l of this.listeners.values()) l.listener.sweep();
  }

  private ours(className: unknown): boolean {
    const cls = this.reg.tryGet(R.gatewayclasses, undefined, String(className ?? ''));
    return !!cls && obj(cls.spec).controllerName === SANDBOX_GATEWAY_CONTROLLER && !cls.metadata.deletionTimestamp;
  }

  private reconcile(): void {
    for (const cls of this.reg.list(R.gatewayclasses)) {
      if (obj(cls.spec).controllerName !== SANDBOX_GATEWAY_CONTROLLER) continue;
      this.reg.mutate(R.gatewayclasses, undefined, cls.metadata.name ?? '', (o) => {
        const gen = o.metadata.generation;
        o.status = {
          ...obj(o.status),
          conditions: [
            condition(
              obj(o.status).conditions,
              'Accepted',
              true,
              'Accepted',
              'Handled by the sandbox gateway controller',
              gen,
            ),
          ],
        };
      });
    }
    const gateways = this.reg
      .list(R.gateways)
      .filter((g) => this.ours(obj(g.spec).gatewayClassName) && !g.metadata.deletionTimestamp);
    const wanted = new Set(gateways.map((g) => `${keyOf(g)}|${g.metadata.uid}`));
    for (const [key, l] of this.listeners) {
      if (wanted.has(`${key}|${l.uid}`)) continue;
      this.listeners.delete(key);
      void l.listener.close();
    }
    const routes = this.reg.list(R.httproutes);
    for (const gw of gateways) {
      this.ensureListener(gw);
      this.writeGatewayStatus(gw, routes.filter((r) => this.attached(r, gw)).length);
    }
    for (const route of routes) this.writeRouteStatus(route, gateways);
  }

  private ensureListener(gw: KubeObject): void {
    const key = keyOf(gw);
    if (this.listeners.has(key)) return;
    const ns = gw.metadata.namespace ?? '';
    const name = gw.metadata.name ?? '';
    const listener = new GatewayListener(key, (req) => this.resolve(ns, name, req), this.timeouts);
    const entry = { uid: gw.metadata.uid ?? '', listener, ready: false };
    this.listeners.set(key, entry);
    listener.listen().then(
      () => {
        if (this.stopped || this.listeners.get(key) !== entry) return void listener.close();
        entry.ready = true;
        this.schedule();
      },
      (err: unknown) => console.error(`sandbox: gateway ${key} could not listen:`, err),
    );
  }

  /** Whether a route attaches to listeners[0] of a Gateway (parentRef, sectionName/port, allowedRoutes). */
  private attached(route: KubeObject, gw: KubeObject): boolean {
    const ref = refersTo(route, gw);
    const listener = arr(obj(gw.spec).listeners)[0];
    if (!ref || !listener) return false;
    if (ref.sectionName !== undefined && ref.sectionName !== listener.name) return false;
    if (ref.port !== undefined && ref.port !== listener.port) return false;
    const from = obj(obj(obj(listener.allowedRoutes).namespaces));
    switch (from.from ?? 'Same') {
      case 'All':
        return true;
      case 'Selector': {
        const ns = this.reg.tryGet(R.namespaces, undefined, route.metadata.namespace ?? '');
        return !!ns && labelSelectorFromSpec(from.selector)(ns.metadata.labels as Record<string, string> | undefined);
      }
      default:
        return route.metadata.namespace === gw.metadata.namespace;
    }
  }

  private writeGatewayStatus(gw: KubeObject, attachedRoutes: number): void {
    const ready = !!this.listeners.get(keyOf(gw))?.ready;
    const url = this.listeners.get(keyOf(gw))?.listener.url;
    this.reg.mutate(R.gateways, gw.metadata.namespace, gw.metadata.name ?? '', (o) => {
      const gen = o.metadata.generation;
      const prev = obj(o.status);
      const prevListeners = arr(prev.listeners);
      o.status = {
        addresses: ready ? [{ type: 'IPAddress', value: '127.0.0.1' }] : [],
        conditions: [
          condition(prev.conditions, 'Accepted', true, 'Accepted', 'Handled by the sandbox gateway controller', gen),
          condition(
            prev.conditions,
            'Programmed',
            ready,
            ready ? 'Programmed' : 'Pending',
            ready ? `listeners[0] is served at ${url}` : 'starting the listener',
            gen,
          ),
        ],
        listeners: arr(obj(o.spec).listeners).map((l, i) => {
          const before = prevListeners.find((p) => p.name === l.name)?.conditions;
          const served = i === 0;
          return {
            name: l.name,
            supportedKinds: [{ group: GATEWAY_GROUP, kind: 'HTTPRoute' }],
            attachedRoutes: served ? attachedRoutes : 0,
            conditions: [
              condition(
                before,
                'Accepted',
                served,
                served ? 'Accepted' : 'UnsupportedValue',
                served ? 'Accepted' : 'the sandbox serves listeners[0] only',
                gen,
              ),
              condition(
                before,
                'Programmed',
                served && ready,
                served && ready ? 'Programmed' : 'Pending',
                served && ready ? `served at ${url}` : 'not served',
                gen,
              ),
              condition(before, 'ResolvedRefs', true, 'ResolvedRefs', 'Resolved', gen),
            ],
          };
        }),
      };
    });
  }

  /** Why a backendRef cannot be used (undefined: it resolves). */
  private refProblem(
    ref: ReturnType<typeof backendRefsOf>[number],
    routeNs: string,
  ): { reason: string; message: string } | undefined {
    if (ref.group !== '' || ref.kind !== 'Service')
      return {
        reason: 'InvalidKind',
        message: `backendRef ${ref.name}: only core Services are supported, not ${ref.group}/${ref.kind}`,
      };
    if (ref.namespace !== routeNs)
      return {
        reason: 'RefNotPermitted',
        message: `backendRef ${ref.namespace}/${ref.name}: cross-namespace references need a ReferenceGrant, which the sandbox does not serve`,
      };
    if (!this.reg.tryGet(R.services, ref.namespace, ref.name))
      return { reason: 'BackendNotFound', message: `Service ${ref.namespace}/${ref.name} not found` };
    return undefined;
  }

  private writeRouteStatus(route: KubeObject, gateways: KubeObject[]): void {
    const ns = route.metadata.namespace ?? '';
    const parents = gateways.flatMap((gw) => {
      const ref = refersTo(route, gw);
      return ref ? [{ gw, ref }] : [];
    });
    const prevParents = arr(obj(route.status).parents);
    const others = prevParents.filter((p) => p.controllerName !== SANDBOX_GATEWAY_CONTROLLER);
    if (parents.length === 0 && others.length === prevParents.length) return;
    const problems = arr(obj(route.spec).rules)
      .flatMap((rule) => backendRefsOf(rule, ns))
      .map((ref) => this.refProblem(ref, ns))
      .filter((p): p is { reason: string; message: string } => !!p);
    this.reg.mutate(R.httproutes, ns, route.metadata.name ?? '', (o) => {
      const gen = o.metadata.generation;
      const mine = parents.map(({ gw, ref }) => {
        const before = prevParents.find(
          (p) =>
            p.controllerName === SANDBOX_GATEWAY_CONTROLLER &&
            obj(p.parentRef).name === ref.name &&
            (obj(p.parentRef).namespace ?? ns) === (ref.namespace ?? ns),
        )?.conditions;
        const accepted = this.attached(o, gw);
        return {
          parentRef: ref,
          controllerName: SANDBOX_GATEWAY_CONTROLLER,
          conditions: [
            condition(
              before,
              'Accepted',
              accepted,
              accepted ? 'Accepted' : 'NotAllowedByListeners',
              accepted ? 'Accepted' : `Gateway ${keyOf(gw)} listeners[0] does not allow this route`,
              gen,
            ),
            condition(
              before,
              'ResolvedRefs',
              problems.length === 0,
              problems[0]?.reason ?? 'ResolvedRefs',
              problems.length ? problems.map((p) => p.message).join('; ') : 'Resolved',
              gen,
            ),
          ],
        };
      });
      o.status = { ...obj(o.status), parents: [...others, ...mine] };
    });
  }

  /** Routes one request of Gateway ns/name: rule, weighted backend, then a ready pod of that Service. */
  private resolve(ns: string, name: string, req: RequestFacts): Resolution {
    const fail = (code: number, error: string, message: string): Resolution => ({ ok: false, code, error, message });
    const gw = this.reg.tryGet(R.gateways, ns, name);
    if (!gw) return fail(503, 'gateway_gone', `Gateway ${ns}/${name} no longer exists`);
    const host = String(req.headers.host ?? '');
    const routes = this.reg
      .list(R.httproutes)
      .filter((r) => this.attached(r, gw) && hostMatches((obj(r.spec).hostnames as string[] | undefined) ?? [], host));
    const hit = matchRule(routes, req);
    if (!hit)
      return fail(
        404,
        'no_route',
        `no rule of the ${routes.length} HTTPRoute(s) attached to Gateway ${ns}/${name} matches ${req.method} ${req.path}`,
      );
    const routeNs = hit.route.metadata.namespace ?? ns;
    const where = `rule ${hit.ruleIndex} of HTTPRoute ${keyOf(hit.route)}`;
    const ref = pickBackend(backendRefsOf(hit.rule, routeNs));
    if (!ref) return fail(500, 'no_backend', `${where} has no backendRef with a weight above 0`);
    const problem = this.refProblem(ref, routeNs);
    if (problem) return fail(500, 'invalid_backend', `${where}: ${problem.message}`);
    const upstream = this.readyPod(ref.namespace, ref.name);
    if (typeof upstream === 'string') return fail(503, 'no_ready_endpoint', `${where}: ${upstream}`);
    return { ok: true, upstream, headers: modifyRequestHeaders(hit.rule, req.headers) };
  }

  /**
   * A Ready pod of the Service that is not terminating and whose engine runs, read live (the store and
   * the kubelet), so a pod going away is never chosen even before its Endpoints are updated.
   */
  private readyPod(ns: string, service: string): Upstream | string {
    const svc = this.reg.tryGet(R.services, ns, service);
    const selector = (obj(svc?.spec).selector ?? {}) as Record<string, string>;
    if (Object.keys(selector).length === 0) return `Service ${ns}/${service} has no selector`;
    const pods = this.reg
      .list(R.pods, ns)
      .map(asPod)
      .filter((p) => Object.entries(selector).every(([k, v]) => p.metadata.labels?.[k] === v));
    const ready = pods.flatMap((p) => {
      const name = p.metadata.name ?? '';
      const rt = this.kubelet.runtime(ns, name);
      const engine = rt?.engine;
      if (p.metadata.deletionTimestamp || podReadySince(p) === undefined || !engine || rt.terminating) return [];
      const uid = p.metadata.uid;
      const alive = (): boolean =>
        this.reg.tryGet(R.pods, ns, name)?.metadata.uid === uid && this.kubelet.runtime(ns, name)?.engine === engine;
      return [{ port: engine.port, namespace: ns, pod: name, alive }];
    });
    if (ready.length === 0) {
      const terminating = pods.filter((p) => p.metadata.deletionTimestamp).length;
      return `Service ${ns}/${service} has no ready endpoint (${pods.length} pod(s) selected, ${terminating} terminating, ${pods.length - terminating} not ready)`;
    }
    const key = `${ns}/${service}`;
    const n = this.roundRobin.get(key) ?? 0;
    this.roundRobin.set(key, n + 1);
    return ready[n % ready.length] as Upstream;
  }
}
