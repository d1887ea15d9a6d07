import type * as k8s from '@kubernetes/client-node';
import { spawn, type SpawnOptions } from 'node:child_process';
import { childEnvironment } from '../child-env';
import { systemClock } from '../clock';
import { withRetry } from './errors';

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
}

/**
 * Loads @kubernetes/client-node on first use (it is most of the bundle's weight) and builds the
 * clients: from kubeconfig content (readTarget found it in the input or in $KUBECONFIG), or from the
 * pod's service account when `kubeconfig: in-cluster` was asked for. Never ~/.kube/config silently.
 */
export async function connectKube(kubeconfig?: string, log?: (line: string) => void): Promise<Kube> {
  const lib = await import('@kubernetes/client-node');
  const config = new lib.KubeConfig();
  if (kubeconfig) config.loadFromString(kubeconfig);
  else config.loadFromCluster();
  confineExecPlugins(config);
  const cluster = config.getCurrentCluster();
  if (!cluster) {
    throw new Error(
      'No Kubernetes cluster is configured: pass the `kubeconfig` input, set KUBECONFIG, or run in a cluster.',
    );
  }
  return {
    lib,
    config,
    server: cluster.server.replace(/\/$/, ''),
    core: retrying(config.makeApiClient(lib.CoreV1Api), log),
    apps: retrying(config.makeApiClient(lib.AppsV1Api), log),
    coordination: retrying(config.makeApiClient(lib.CoordinationV1Api), log),
    autoscaling: retrying(config.makeApiClient(lib.AutoscalingV2Api), log),
    authorization: retrying(config.makeApiClient(lib.AuthorizationV1Api), log),
    watch: new lib.Watch(config),
  };
}

/**
 * client-node runs exec credential plugins with the whole process environment (every INPUT_*):
 * they get the allow-listed child environment plus their own `env` entries instead.
 */
function confineExecPlugins(config: k8s.KubeConfig): void {
  const authenticators = (config as unknown as { authenticators?: { execFn?: unknown }[] }).authenticators ?? [];
  for (const auth of authenticators) {
    if (typeof auth.execFn !== 'function') continue;
    auth.execFn = (command: string, args: string[] | undefined, opts: SpawnOptions = {}) => {
      // opts.env, when set, is process.env plus the plugin's env entries: keep only those entries.
      const own = Object.entries(opts.env ?? {}).filter(([name, value]) => process.env[name] !== value);
      return spawn(command, args ?? [], { ...opts, env: childEnvironment(Object.fromEntries(own)) });
    };
  }
}

/** How long one API call keeps retrying 5xx, 429 and dropped connections before giving up. */
const RETRY_BUDGET_MS = 20_000;

/**
 * Every call of an API client retried on transient failures (5xx, 429 honouring Retry-After, resets)
 * with backoff, so a busy API server slows an action down instead of failing it half-way.
 */
function retrying<T extends object>(api: T, log?: (line: string) => void): T {
  return new Proxy(api, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) =>
        withRetry(() => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args), {
          clock: systemClock,
          deadline: systemClock.now() + RETRY_BUDGET_MS,
          onRetry: (f, delay) =>
            log?.(`Kubernetes API ${String(property)}: ${f.code ?? ''} ${f.message}; retrying in ${delay}ms`),
        });
    },
  });
}
