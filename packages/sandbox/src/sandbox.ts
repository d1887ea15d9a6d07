import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Authenticator, rulesFromDocument, type PolicyRule } from './api/auth';
import { Faults, type FaultRule } from './api/faults';
import { Journal } from './api/journal';
import { Registry } from './api/registry';
import { findResourceByKind, RESOURCES, type ResourceDef } from './api/resources';
import { parseLabelSelector } from './api/selectors';
import { ApiServer } from './api/server';
import { EventRecorder } from './controllers/events';
import { GatewayController } from './gateway/controller';
import { DEFAULT_GATEWAY_TIMEOUTS, type GatewayTimeouts } from './gateway/listener';
import { ControllerManager } from './controllers/manager';
import type { EngineHandle } from './engine/index';
import { KubeletBackends } from './kubelet/backends';
import { Kubelet } from './kubelet/kubelet';
import { parseProfileAssignment, parseProfileSpec, ProfileRegistry, type ProfileSpec } from './kubelet/profiles';
import { kubeconfigYaml } from './kubeconfig';
import { generateTls } from './tls';
import { seedCluster } from './seed';
import { Store } from './store/store';
import { sleep, type KubeObject } from './util';

export interface SandboxOptions {
  /** Port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** Bearer token for the default (allow-all) user; random when omitted. */
  token?: string;
  /** Write a kubeconfig here once the server answers. */
  kubeconfigPath?: string;
  /** Namespace of the kubeconfig context (default `veloz`). */
  namespace?: string;
  /** Ready nodes to seed (default 2). */
  nodes?: number;
  /** Image profiles: `["img:1=crashloop", ...]` or `{ "img:1": "crashloop:run=200ms" }`. */
  profiles?: string[] | Record<string, string | ProfileSpec>;
  /** Time from scheduling to a container running (default 1000 ms; tests use 100-300). */
  podStartupDelayMs?: number;
  /** Readiness probe interval (default 250 ms). */
  probeIntervalMs?: number;
  /** Initial crash / image pull back-off (default 1000 ms), doubling up to maxBackoffMs (default 10 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** How long a deleted pod stays Terminating (default 100 ms). */
  terminationDelayMs?: number;
  /** Controller resync tick (default 100 ms). */
  resyncMs?: number;
  /** Period of the HPA controller (Kubernetes: 15s). Default 1000. */
  hpaSyncMs?: number;
  /** Back healthy/degrade pods with the engine double (default true); false: time-based readiness. */
  engines?: boolean;
  /** Synthetic requests/s each engine double records (engine default when omitted). */
  engineSyntheticRps?: number;
  /** Token the engine doubles require on POST /api/order (random when omitted). */
  testToken?: string;
  /** Interval of watch BOOKMARK events (default 5 s). */
  bookmarkIntervalMs?: number;
  /** Deadlines of the Gateway data plane (default: 30 s for an answer, 5 min idle). */
  gatewayTimeouts?: Partial<GatewayTimeouts>;
}

export interface SandboxResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: unknown;
}

/** Read access to the object store, by resource plural ("deployments") or kind ("Deployment"). */
export interface SandboxObjects {
  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined;
  list(resource: string, namespace?: string, labelSelector?: string): KubeObject[];
}

export interface Sandbox extends SandboxObjects {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  /** PEM of the sandbox's self-signed certificate (its own CA), for HTTPS clients. */
  readonly caCert: string;
  /** An HTTPS request to the API server as the default user (or with `token`). */
  request(
    method: string,
    path: string,
    body?: unknown,
    opts?: { token?: string; contentType?: string },
  ): Promise<SandboxResponse>;
  readonly port: number;
  /** Bearer token of the default user (allowed everything unless RBAC rules are set). */
  readonly token: string;
  /** Token for POST /api/order on the engine doubles. */
  readonly testToken: string;
  /** Kubeconfig YAML (cluster, token user, context with namespace veloz). */
  readonly kubeconfig: string;
  readonly kubeconfigPath: string | undefined;
  /** Writes the kubeconfig to a file (atomically). */
  writeKubeconfig(path: string): Promise<void>;
  /** Sets (or with undefined, clears) an image's profile; running healthy/degrade engines switch at once. */
  setProfile(image: string, spec: string | ProfileSpec | undefined): void;
  /** Creates or replaces an object directly (bypassing HTTP), e.g. to seed fixtures. */
  apply(obj: KubeObject): KubeObject;
  /** Deletes an object directly. */
  remove(resource: string, namespace: string | undefined, name: string): void;
  /** Polls the store until `predicate` holds for the object (or its absence), or throws after timeoutMs. */
  waitFor(
    resource: string,
    namespace: string | undefined,
    name: string,
    predicate: (o: KubeObject | undefined) => boolean,
    timeoutMs?: number,
  ): Promise<KubeObject | undefined>;
  /** Forgets the watch history: every older resourceVersion now gets 410 Gone. */
  compact(): void;
  /** Issues an extra token, optionally bound to RBAC rules (a Role/ClusterRole document or rule list). */
  addToken(token: string, user: string, rbac?: unknown): void;
  /** Enforces (or with undefined, lifts) RBAC rules for an existing token. */
  setRbac(token: string, rbac: unknown): void;
  /** Request journal (every request: verb, resource, user, code ...). */
  readonly journal: Journal;
  /** API faults switchable at run time. */
  readonly faults: Faults;
  /** The profile registry (resolve/set/entries). */
  readonly profiles: ProfileRegistry;
  /** Engine doubles of running pods. */
  engines(): EngineHandle[];
  /** Prometheus scrape targets of the running engine doubles (loopback address + pod labels). */
  scrapeTargets(): ReturnType<EngineHandle['scrapeTarget']>[];
  /** The engine double of one pod, if it is running. */
  engineOf(namespace: string, pod: string): EngineHandle | undefined;
  /**
   * Listener URL of every programmed Gateway: `{"<namespace>/<gateway>": "http://127.0.0.1:PORT"}`
   * (what `veloz-sandbox gateways` prints). Each Gateway of class veloz-sandbox serves its listeners[0].
   */
  gateways(): Record<string, string>;
  /** The listener URL of one Gateway, waiting (up to timeoutMs, default 10 s) until it is programmed. */
  gatewayUrl(namespace: string, name: string, timeoutMs?: number): Promise<string>;
  /** Proxied requests and streams open through one Gateway right now. */
  gatewayConnections(namespace: string, name: string): number;
  /** Low-level access for advanced tests. */
  readonly registry: Registry;
  stop(): Promise<void>;
}

function resolveDef(resource: string): ResourceDef {
  const r = resource.toLowerCase();
  const def = RESOURCES.find(
    (d) => d.plural === r || d.kind.toLowerCase() === r || `${d.plural}.${d.group}` === r || d.shortNames?.includes(r),
  );
  if (!def) throw new Error(`unknown resource "${resource}"; known: ${RESOURCES.map((d) => d.plural).join(', ')}`);
  return def;
}

/** Starts an API server with controllers, kubelet and engine doubles on 127.0.0.1. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const token = options.token ?? randomBytes(24).toString('hex');
  const testToken = options.testToken ?? randomBytes(16).toString('hex');
  const store = new Store();
  const registry = new Registry(store);
  const events = new EventRecorder(registry);
  const profiles = new ProfileRegistry();
  const kubelet = new Kubelet(registry, events, profiles, {
    startupDelayMs: options.podStartupDelayMs ?? 1000,
    probeIntervalMs: options.probeIntervalMs ?? 250,
    backoffMs: options.backoffMs ?? 1000,
    maxBackoffMs: options.maxBackoffMs ?? 10_000,
    terminationDelayMs: options.terminationDelayMs ?? 100,
    testToken,
    engines: options.engines ?? true,
    ...(options.engineSyntheticRps !== undefined ? { engineSyntheticRps: options.engineSyntheticRps } : {}),
  });
  const validateDegrade = async (): Promise<(p: Record<string, string>) => void> => {
    if (options.engines === false) return () => {};
    const mod = await kubelet.loadEngineModule();
    return (p) => void mod.parseDegrade(p);
  };
  const degradeValidator = await validateDegrade();
  const toSpec = (spec: string | ProfileSpec): ProfileSpec =>
    typeof spec === 'string'
      ? parseProfileSpec(spec, degradeValidator)
      : parseProfileSpec(
          `${spec.name}:${Object.entries(spec.params)
            .map(([k, v]) => `${k}=${v}`)
            .join(',')}`,
          degradeValidator,
        );
  if (Array.isArray(options.profiles)) {
    for (const text of options.profiles) {
      const { image, spec } = parseProfileAssignment(text, degradeValidator);
      profiles.set(image, spec);
    }
  } else if (options.profiles) {
    for (const [image, spec] of Object.entries(options.profiles)) profiles.set(image, toSpec(spec));
  }

  seedCluster(registry, options.nodes ?? 2);
  const auth = new Authenticator();
  auth.addToken(token, { name: 'veloz-admin', groups: ['system:masters', 'system:authenticated'] });
  const journal = new Journal();
  const faults = new Faults();
  const tls = generateTls();
  const gateways = new GatewayController(registry, kubelet, {
    ...DEFAULT_GATEWAY_TIMEOUTS,
    ...options.gatewayTimeouts,
  });
  const server = new ApiServer({
    registry,
    auth,
    journal,
    faults,
    tls,
    backends: new KubeletBackends(registry, kubelet),
    control: sandboxControl({
      journal,
      faults,
      gateways: () => gateways.urls(),
      targets: async () =>
        (await kubelet.loadEngineModule()).fileSdDocument(kubelet.engines().map((e) => e.scrapeTarget())),
      setProfile: (text) => {
        const { image, spec } = parseProfileAssignment(text, degradeValidator);
        profiles.set(image, spec);
      },
    }),
    ...(options.bookmarkIntervalMs ? { bookmarkIntervalMs: options.bookmarkIntervalMs } : {}),
  });
  const controllers = new ControllerManager(registry, events, options.resyncMs ?? 100, options.hpaSyncMs ?? 1000);
  controllers.start();
  kubelet.start();
  gateways.start();
  const port = await server.listen(options.port ?? 0);
  const url = `https://127.0.0.1:${port}`;
  const kubeconfig = kubeconfigYaml({
    server: url,
    token,
    caData: tls.caData,
    namespace: options.namespace ?? 'veloz',
  });
  const request = (
    method: string,
    path: string,
    body?: unknown,
    opts: { token?: string; contentType?: string } = {},
  ): Promise<SandboxResponse> => httpsCall(url, tls.cert, method, path, opts.token ?? token, body, opts.contentType);
  const writeKubeconfig = async (path: string): Promise<void> => {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, kubeconfig, { mode: 0o600 });
    await rename(tmp, path);
  };
  // Only advertise the kubeconfig once the server really answers.
  const probe = await request('GET', '/version');
  if (probe.status !== 200) throw new Error(`sandbox API server did not answer /version (${probe.status})`);
  if (options.kubeconfigPath) await writeKubeconfig(options.kubeconfigPath);

  const objects: SandboxObjects = {
    get: (resource, namespace, name) => registry.tryGet(resolveDef(resource), namespace, name),
    list: (resource, namespace, labelSelector) => {
      const match = parseLabelSelector(labelSelector);
      return registry.list(resolveDef(resource), namespace).filter((o) => match(o.metadata.labels));
    },
  };
  let stopped = false;
  return {
    url,
    port,
    caCert: tls.cert,
    request,
    token,
    testToken,
    kubeconfig,
    kubeconfigPath: options.kubeconfigPath,
    writeKubeconfig,
    ...objects,
    setProfile: (image, spec) => profiles.set(image, spec === undefined ? undefined : toSpec(spec)),
    apply: (obj) => {
      const def = findResourceByKind(obj.apiVersion ?? '', obj.kind ?? '');
      if (!def) throw new Error(`unknown kind ${obj.apiVersion}/${obj.kind}`);
      const ns = def.namespaced ? (obj.metadata.namespace ?? options.namespace ?? 'veloz') : undefined;
      const existing = registry.tryGet(def, ns, obj.metadata.name ?? '');
      if (!existing) return registry.create(def, ns, obj, { fieldManager: 'sandbox' });
      return registry.update(
        def,
        ns,
        obj.metadata.name ?? '',
        { ...obj, metadata: { ...obj.metadata, resourceVersion: undefined } },
        { fieldManager: 'sandbox' },
      );
    },
    remove: (resource, namespace, name) =>
      void registry.delete(resolveDef(resource), namespace, name, { propagationPolicy: 'Background' }),
    waitFor: async (resource, namespace, name, predicate, timeoutMs = 30_000) => {
      const def = resolveDef(resource);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const o = registry.tryGet(def, namespace, name);
        if (predicate(o)) return o;
        if (Date.now() > deadline)
          throw new Error(
            `timed out after ${timeoutMs} ms waiting for ${def.plural} ${namespace ? `${namespace}/` : ''}${name}`,
          );
        await sleep(25);
      }
    },
    compact: () => store.compact(),
    addToken: (t, user, rbac) =>
      auth.addToken(t, {
        name: user,
        groups: ['system:authenticated'],
        ...(rbac !== undefined ? { rules: rulesFromDocument(rbac) } : {}),
      }),
    setRbac: (t, rbac) => auth.setRules(t, rbac === undefined ? undefined : (rulesFromDocument(rbac) as PolicyRule[])),
    journal,
    faults,
    profiles,
    engines: () => kubelet.engines(),
    scrapeTargets: () => kubelet.engines().map((e) => e.scrapeTarget()),
    engineOf: (namespace, pod) => kubelet.runtime(namespace, pod)?.engine,
    gateways: () => gateways.urls(),
    gatewayUrl: async (namespace, name, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const url = gateways.urls()[`${namespace}/${name}`];
        if (url) return url;
        if (Date.now() > deadline)
          throw new Error(
            `Gateway ${namespace}/${name} was not programmed within ${timeoutMs} ms (it needs gatewayClassName veloz-sandbox)`,
          );
        await sleep(25);
      }
    },
    gatewayConnections: (namespace, name) => gateways.connections(`${namespace}/${name}`),
    registry,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      controllers.stop();
      await Promise.all([gateways.stop(), kubelet.stop(), server.close()]);
    },
  };
}

/** The /sandbox/ control endpoints the CLI uses on a running sandbox. */
function sandboxControl(o: {
  gateways: () => Record<string, string>;
  journal: Journal;
  faults: Faults;
  setProfile: (assignment: string) => void;
  targets: () => Promise<string>;
}) {
  return async (path: string, req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (path === '/sandbox/targets' && req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(await o.targets());
      return true;
    }
    if (path === '/sandbox/gateways' && req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(o.gateways()));
      return true;
    }
    if (path === '/sandbox/journal' && req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
      res.end(o.journal.dump());
      return true;
    }
    if (path === '/sandbox/faults' || path.startsWith('/sandbox/faults/'))
      return faultControl(o.faults, path, req, res);
    if (path === '/sandbox/profiles' && req.method === 'POST') {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      try {
        const { assignment } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { assignment?: string };
        o.setProfile(String(assignment ?? ''));
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ ok: true }));
      } catch (err) {
        res.writeHead(422, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            code: 422,
            reason: 'Invalid',
            message: err instanceof Error ? err.message : String(err),
          }),
        );
      }
      return true;
    }
    return false;
  };
}

const FAULT_TYPES = ['status', 'latency', 'reset', 'watch-close', 'watch-gone', 'hang'];

/** `fault list|add|clear` of the CLI: GET, POST and DELETE /sandbox/faults[/ID]. */
async function faultControl(faults: Faults, path: string, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const answer = (code: number, body: unknown): true => {
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
    return true;
  };
  const id = path.slice('/sandbox/faults/'.length);
  if (req.method === 'GET' && path === '/sandbox/faults') return answer(200, faults.list());
  if (req.method === 'DELETE' && path === '/sandbox/faults') {
    const cleared = faults.list().length;
    faults.clear();
    return answer(200, { cleared });
  }
  if (req.method === 'DELETE') {
    return faults.remove(Number(id))
      ? answer(200, { cleared: 1 })
      : answer(404, { kind: 'Status', code: 404, message: `no fault with id ${id}` });
  }
  if (req.method === 'POST' && path === '/sandbox/faults') {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let rule: FaultRule | undefined;
    try {
      rule = JSON.parse(Buffer.concat(chunks).toString('utf8')) as FaultRule;
    } catch {
      rule = undefined;
    }
    if (!rule || !FAULT_TYPES.includes(String(rule.action?.type)))
      return answer(422, {
        kind: 'Status',
        code: 422,
        message: `a fault rule needs action.type, one of ${FAULT_TYPES.join(', ')}`,
      });
    return answer(200, { id: faults.add(rule) });
  }
  return false;
}

/** One HTTPS request trusting the sandbox certificate. */
export function httpsCall(
  base: string,
  ca: string,
  method: string,
  path: string,
  token: string,
  body?: unknown,
  contentType?: string,
): Promise<SandboxResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = httpsRequest(
      new URL(path, base),
      {
        method,
        ca,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(payload !== undefined
            ? { 'content-type': contentType ?? 'application/json', 'content-length': Buffer.byteLength(payload) }
            : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}
