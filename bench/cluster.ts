/**
 * A sandbox cluster for the bench: the sandbox API server in this process, a kubeconfig, the real
 * kubectl / helm 3 / helm 4 binaries, the fixture chart, and two instruments read straight from the
 * sandbox — the moment a Deployment rollout completes (from the object store's own events) and the
 * API requests a step made (from the request journal).
 */
import { runActionBundle, NODE24, type ActionName, type ActionRun } from '@veloz/harness';
import { startSandbox, toolPath, type JournalEntry, type Sandbox, type SandboxOptions } from '@veloz/sandbox';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { snapshotBundles } from './bundles';
import { sleep, timedRun, type Timed } from './lib';

import { upgradeArgv } from '@veloz/harness/fixture-chart';

export { CANARY_USER, CHART, VALUES_PRODUCTION, preemptableCanary, upgradeArgv } from '@veloz/harness/fixture-chart';
export const NAMESPACE = 'veloz';
export const DEPLOYMENT = 'veloz-engine';
export const IMAGE = 'veloz/engine';

export type HelmTool = 'helm3' | 'helm4';

export interface DeploymentLike {
  metadata?: { generation?: number; annotations?: Record<string, string> };
  spec?: { replicas?: number; template?: { spec?: { containers?: { image?: string }[] } } };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    readyReplicas?: number;
  };
}

/**
 * kubectl's definition of a finished rollout (polymorphichelpers/rollout_status.go): the controller
 * has seen the newest spec, every replica is updated, no old replica is left, every updated one is available.
 */
export function rolloutComplete(d: DeploymentLike): boolean {
  const s = d.status ?? {};
  const want = d.spec?.replicas ?? 1;
  return (
    (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) &&
    (s.updatedReplicas ?? 0) === want &&
    (s.replicas ?? 0) === (s.updatedReplicas ?? 0) &&
    (s.availableReplicas ?? 0) === (s.updatedReplicas ?? 0)
  );
}

export function imageOf(d: DeploymentLike | undefined): string | undefined {
  return d?.spec?.template?.spec?.containers?.[0]?.image;
}

export interface CompletionProbe {
  /** performance.now() of the store event that completed the rollout; undefined until it happens. */
  readonly at: number | undefined;
  stop(): void;
}

export interface BenchCluster {
  sandbox: Sandbox;
  kubeconfigPath: string;
  podStartupDelayMs: number;
  helmBin: Record<HelmTool, string>;
  kubectlBin: string;
  /** Environment of a helm/kubectl child or an action bundle: KUBECONFIG, the chosen helm first on PATH. */
  env(helm?: HelmTool): Record<string, string>;
  helm(tool: HelmTool, args: string[], onLine?: (line: string, at: number) => void): Promise<Timed>;
  kubectl(args: string[]): Promise<Timed>;
  /** `kubectl set image` of the engine container to a version (throws when kubectl fails). */
  setImage(version: string): Promise<Timed>;
  /** `kubectl rollout status` of the engine Deployment; its exit code is the caller's to judge. */
  rolloutStatus(timeout: string): Promise<Timed>;
  /** `helm upgrade --install --wait` of the fixture chart at a version; throws when helm fails. */
  install(version: string, extra?: string[], tool?: HelmTool): Promise<void>;
  /** Arms a probe for the next completed rollout (a newer generation than now, optionally of one image). */
  completion(image?: string): CompletionProbe;
  deployment(): DeploymentLike | undefined;
  /** Journal entries of requests that began in [from, to] (performance.now() times). */
  requests(from: number, to: number): Promise<JournalEntry[]>;
  /** Runs an action bundle (the bench's snapshot of dist/) on GitHub's runtime (node24) with this cluster's environment. */
  action(
    action: ActionName,
    inputs: Record<string, string>,
    options?: {
      helm?: HelmTool;
      onLine?: (line: string) => void;
      onSpawn?: (pid: number) => void;
      timeoutMs?: number;
      env?: Record<string, string>;
    },
  ): Promise<ActionRun & { start: number; end: number }>;
  stop(): Promise<void>;
}

/** Wall-clock epoch milliseconds of a performance.now() reading. */
export function epochOf(perfNow: number): number {
  return performance.timeOrigin + perfNow;
}

/** Starts a bench cluster for `use` and always stops it, whatever `use` throws. */
export async function withBenchCluster<T>(options: SandboxOptions, use: (c: BenchCluster) => Promise<T>): Promise<T> {
  const c = await startBenchCluster(options);
  try {
    return await use(c);
  } finally {
    await c.stop();
  }
}

/** One warm-up round (first pulls, first helm run), then `repeats` measured ones. */
export async function warmThenMeasure<T>(repeats: number, round: () => Promise<T>): Promise<T[]> {
  await round();
  const measured: T[] = [];
  for (let i = 0; i < repeats; i++) measured.push(await round());
  return measured;
}

export async function startBenchCluster(options: SandboxOptions = {}): Promise<BenchCluster> {
  const podStartupDelayMs = options.podStartupDelayMs ?? 500;
  const sandbox = await startSandbox({ probeIntervalMs: 100, backoffMs: 1000, ...options, podStartupDelayMs });
  const dir = await mkdtemp(join(tmpdir(), 'veloz-bench-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  await sandbox.writeKubeconfig(kubeconfigPath);
  const helmBin: Record<HelmTool, string> = { helm3: await toolPath('helm3'), helm4: await toolPath('helm4') };
  const kubectlBin = await toolPath('kubectl');
  const env = (helm: HelmTool = 'helm3'): Record<string, string> => ({
    KUBECONFIG: kubeconfigPath,
    PATH: `${dirname(helmBin[helm])}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: dir,
  });
  const childEnv = (helm?: HelmTool): NodeJS.ProcessEnv => ({ ...process.env, ...env(helm) });
  const store = sandbox.registry.store;

  const cluster: BenchCluster = {
    sandbox,
    kubeconfigPath,
    podStartupDelayMs,
    helmBin,
    kubectlBin,
    env,
    helm: (tool, args, onLine) =>
      timedRun(helmBin[tool], args, { env: childEnv(tool), timeoutMs: 600_000, ...(onLine ? { onLine } : {}) }),
    kubectl: (args) => timedRun(kubectlBin, args, { env: childEnv(), timeoutMs: 600_000 }),
    async setImage(version) {
      const set = await cluster.kubectl([
        'set',
        'image',
        `deployment/${DEPLOYMENT}`,
        '-n',
        NAMESPACE,
        `veloz-engine=${IMAGE}:${version}`,
      ]);
      if (set.code !== 0) throw new Error(`kubectl set image failed: ${set.stderr}`);
      return set;
    },
    rolloutStatus: (timeout) =>
      cluster.kubectl(['rollout', 'status', `deployment/${DEPLOYMENT}`, '-n', NAMESPACE, '--timeout', timeout]),
    async install(version, extra = [], tool = 'helm3') {
      const r = await cluster.helm(tool, upgradeArgv(version, extra, '120s', true));
      if (r.code !== 0) throw new Error(`helm install ${version} failed: ${r.stderr.trim()}`);
    },
    completion(image) {
      const generationAtArm = cluster.deployment()?.metadata?.generation ?? 0;
      let at: number | undefined;
      const unsubscribe = store.subscribe((event) => {
        if (at !== undefined || event.resource !== 'apps/deployments') return;
        const o = event.object as DeploymentLike & { metadata: { name?: string; namespace?: string } };
        if (o.metadata.name !== DEPLOYMENT || o.metadata.namespace !== NAMESPACE) return;
        if ((o.metadata.generation ?? 0) <= generationAtArm) return;
        if (image !== undefined && imageOf(o) !== image) return;
        if (rolloutComplete(o)) at = performance.now();
      });
      return {
        get at() {
          return at;
        },
        stop: () => void unsubscribe(),
      };
    },
    deployment: () => sandbox.get('deployments', NAMESPACE, DEPLOYMENT) as DeploymentLike | undefined,
    async requests(from, to) {
      await sleep(300); // watches are journaled when they close
      const since = Math.floor(epochOf(from)) - 1;
      const until = Math.ceil(epochOf(to)) + 1;
      return sandbox.journal.list({ since }).filter((e) => Date.parse(e.time) <= until);
    },
    async action(action, inputs, o = {}) {
      const bundles = await snapshotBundles();
      const wrapped = bundles.node(NODE24);
      const start = performance.now();
      const run = await runActionBundle(action, inputs, {
        env: { ...env(o.helm), ...wrapped.env, ...o.env },
        node: wrapped.node,
        timeoutMs: o.timeoutMs ?? 600_000,
        ...(o.onLine ? { onLine: o.onLine } : {}),
        ...(o.onSpawn ? { onSpawn: (child) => child.pid !== undefined && o.onSpawn?.(child.pid) } : {}),
      });
      return { ...run, start, end: performance.now() };
    },
    async stop() {
      await sandbox.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

/** Who made a request, from its User-Agent: our action (client-node), helm, kubectl or other. */
export function clientOf(e: JournalEntry): 'action' | 'helm' | 'kubectl' | 'other' {
  const ua = (e.userAgent ?? '').toLowerCase();
  if (ua.startsWith('helm')) return 'helm';
  if (ua.startsWith('kubectl')) return 'kubectl';
  if (ua.includes('node') || ua.includes('kubernetes-client') || ua === '') return 'action';
  return 'other';
}
