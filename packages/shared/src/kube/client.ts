import { AsyncLocalStorage } from 'node:async_hooks';
import type * as k8s from '@kubernetes/client-node';
import { systemClock } from '../clock';
import { withRetry } from './errors';
import { reusingConnections } from './connections';
import { confineExecPlugins } from './exec-credential';
import { Fence } from './fence';

/** The Kubernetes API clients one action needs, created from one kubeconfig. */
export interface Kube {
  lib: typeof k8s;
  config: k8s.KubeConfig;
  /** API server base URL, e.g. https://127.0.0.1:6443 (no trailing slash). */
  server: string;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  coordination: k8s.CoordinationV1Api;
  autoscaling: k8s.AutoscalingV2Api;
  authorization: k8s.AuthorizationV1Api;
  watch: k8s.Watch;
  /** Closed by the release lock when it is lost: mutating calls are then refused. */
  fence: Fence;
  /** Longest one request may go unanswered (also bounds watch set-up). */
  requestTimeoutMs: number;
}

/**
 * client-node 1.4 sets no request timeout: a server that accepts a connection and never answers
 * keeps a call pending for ever. Every request gets this long; a call retries a hung request like
 * any transient failure while its budget lasts (two attempts), then fails naming the call.
 */
const REQUEST_TIMEOUT_MS = 30_000;
/**
 * How long one API call keeps starting retries of 5xx, 429, resets and hung requests: one and a
 * half request timeouts (45 s), so a hung request is tried twice and the call ends within ~60 s.
 */
const RETRY_BUDGET_PER_TIMEOUT = 1.5;

interface KubeOptions {
  log?: (line: string) => void;
  requestTimeoutMs?: number;
}

/**
 * Loads @kubernetes/client-node on first use (it is most of the bundle's weight) and builds the
 * clients: from kubeconfig content (readTarget found it in the input or in $KUBECONFIG), or from the
 * pod's service account when `kubeconfig: in-cluster` was asked for. Never ~/.kube/config silently.
 */
export async function connectKube(
  kubeconfig?: string,
  log?: (line: string) => void,
  options: KubeOptions = {},
): Promise<Kube> {
  const lib = await import('@kubernetes/client-node');
  const config = new lib.KubeConfig();
  if (kubeconfig) config.loadFromString(kubeconfig);
  else config.loadFromCluster();
  // Its own plugin runner leaks the environment in and the plugin's stderr out: ours instead.
  confineExecPlugins(config, options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS);
  const cluster = config.getCurrentCluster();
  if (!cluster) {
    throw new Error(
      'No Kubernetes cluster is configured: pass the `kubeconfig` input, set KUBECONFIG, or run in a cluster.',
    );
  }
  const fence = new Fence();
  const requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const auth = reusingConnections(config);
  const make = <T extends object>(api: new (c: k8s.Configuration) => T, fenced: boolean): T =>
    guarded(timedClient(lib, config, auth, api, requestTimeoutMs), {
      log: options.log ?? log,
      fence: fenced ? fence : undefined,
      budgetMs: requestTimeoutMs * RETRY_BUDGET_PER_TIMEOUT,
    });
  return {
    lib,
    config,
    server: cluster.server.replace(/\/$/, ''),
    core: make(lib.CoreV1Api, true),
    apps: make(lib.AppsV1Api, true),
    // The lease is the lock itself: its own calls are never fenced.
    coordination: make(lib.CoordinationV1Api, false),
    autoscaling: make(lib.AutoscalingV2Api, true),
    // Access reviews write nothing.
    authorization: make(lib.AuthorizationV1Api, false),
    watch: new lib.Watch(config),
    fence,
    requestTimeoutMs,
  };
}

const extraClients = new WeakMap<Kube, Map<unknown, object>>();

/**
 * Another API client (e.g. CustomObjectsApi for HTTPRoutes) on the session's kubeconfig, with the
 * same deadline, retries and fence as the session's own clients; one per session and API.
 */
export function apiClient<T extends object>(kube: Kube, api: new (c: k8s.Configuration) => T): T {
  let byApi = extraClients.get(kube);
  if (!byApi) extraClients.set(kube, (byApi = new Map()));
  let client = byApi.get(api) as T | undefined;
  if (!client) {
    client = guarded(timedClient(kube.lib, kube.config, reusingConnections(kube.config), api, kube.requestTimeoutMs), {
      fence: kube.fence,
      budgetMs: kube.requestTimeoutMs * RETRY_BUDGET_PER_TIMEOUT,
    });
    byApi.set(api, client);
  }
  return client;
}

/** Per-call limits for code that needs tighter ones than the default (the lease renewal). */
interface CallScope {
  /** Aborts every request made inside the scope (e.g. a renewal's own deadline). */
  signal?: AbortSignal;
  /** No retries: the caller has its own schedule. */
  noRetry?: boolean;
}
const callScope = new AsyncLocalStorage<CallScope>();

/** Runs `fn` with every API request in it bounded by `signal` and not retried. */
export function withinScope<T>(scope: CallScope, fn: () => Promise<T>): Promise<T> {
  return callScope.run(scope, fn);
}

/** A request that got no answer in time: transient (retried), named after what hung. */
export class RequestTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(
    readonly request: string,
    readonly timeoutMs: number,
    detail = '',
  ) {
    super(`${request}: no answer from the API server within ${Math.round(timeoutMs / 1000)}s${detail}`);
    this.name = 'RequestTimeoutError';
  }
}

/** An API client whose every HTTP request carries a deadline (and the scope's signal). */
function timedClient<T>(
  lib: typeof k8s,
  config: k8s.KubeConfig,
  auth: k8s.SecurityAuthentication,
  api: new (c: k8s.Configuration) => T,
  timeoutMs: number,
): T {
  const inner = new lib.IsomorphicFetchHttpLibrary();
  const httpApi: k8s.HttpLibrary = {
    send(request) {
      const timeout = AbortSignal.timeout(Math.round(timeoutMs));
      const scoped = callScope.getStore()?.signal;
      request.setSignal(scoped ? AbortSignal.any([timeout, scoped]) : timeout);
      const url = new URL(request.getUrl());
      const what = `${request.getHttpMethod()} ${url.pathname}`;
      return new lib.Observable(
        inner
          .send(request)
          .toPromise()
          .catch((error: unknown) => {
            if (scoped?.aborted) throw scopeReason(scoped, what);
            if (timeout.aborted) throw new RequestTimeoutError(what, timeoutMs);
            throw error;
          }),
      );
    },
  };
  const cluster = config.getCurrentCluster()!;
  return new api(
    lib.createConfiguration({
      baseServer: new lib.ServerConfiguration(cluster.server, {}),
      authMethods: { default: auth },
      httpApi,
    }),
  );
}

function scopeReason(signal: AbortSignal, what: string): Error {
  const reason = signal.reason as unknown;
  if (reason instanceof Error && reason.name === 'TimeoutError') return new Error(`${what}: no answer in time`);
  return reason instanceof Error ? reason : new Error(`${what}: cancelled`);
}

const MUTATING = /^(create|replace|patch|delete)/;

/**
 * Every call of an API client retried on transient failures (5xx, 429 honouring Retry-After, resets,
 * hung requests) with backoff, so a busy API server slows an action down instead of failing it
 * half-way; and every write refused once the release lock is lost, so no action code can forget.
 */
function guarded<T extends object>(api: T, o: { log?: (line: string) => void; fence?: Fence; budgetMs: number }): T {
  return new Proxy(api, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const name = String(property);
      const call = (...args: unknown[]): Promise<unknown> =>
        (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      const fenced = o.fence && MUTATING.test(name) ? o.fence : undefined;
      // A write in flight when the lock is lost may still land: the lock waits for it before saying "stopped".
      const track = <R>(work: Promise<R>): Promise<R> => (fenced ? fenced.track(work) : work);
      return (...args: unknown[]) => {
        // Checked before every attempt: a retry after the lock was lost is a write too.
        const attempt = (): Promise<unknown> => {
          fenced?.check(`the API call ${name}${describeTarget(args[0])}`);
          attempts++;
          return call(...args);
        };
        let attempts = 0;
        if (callScope.getStore()?.noRetry) return track(attempt());
        const started = systemClock.now();
        return track(
          withRetry(attempt, {
            clock: systemClock,
            deadline: started + o.budgetMs,
            onRetry: (f, delay) =>
              o.log?.(`Kubernetes API ${name}: ${f.code ?? ''} ${f.message}; retrying in ${delay}ms`),
          }).catch((error: unknown) => {
            if (!(error instanceof RequestTimeoutError)) throw error;
            const tries =
              attempts > 1 ? `, ${attempts} attempts over ${Math.round((systemClock.now() - started) / 1000)}s` : '';
            throw new RequestTimeoutError(`Kubernetes API ${name} (${error.request})`, error.timeoutMs, tries);
          }),
        );
      };
    },
  });
}

/** `(namespace/name)` of a call's target, from its parameters or the object it creates. */
function describeTarget(param: unknown): string {
  const p = param as { name?: unknown; namespace?: unknown; body?: { metadata?: { name?: unknown } } } | undefined;
  const name = typeof p?.name === 'string' ? p.name : p?.body?.metadata?.name;
  if (typeof name !== 'string') return '';
  return ` (${typeof p?.namespace === 'string' ? `${p.namespace}/` : ''}${name})`;
}
