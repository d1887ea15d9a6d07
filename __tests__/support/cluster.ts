/**
 * A sandbox cluster for end-to-end tests: the sandbox API server, a kubeconfig file, the real helm
 * and kubectl binaries, and the environment the action bundles run with (KUBECONFIG, helm on PATH).
 */
import { startSandbox, toolPath, type Sandbox, type SandboxOptions } from '@veloz/sandbox';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export {
  CANARY_USER,
  CHART,
  IMAGE,
  VALUES_PRODUCTION,
  preemptableCanary,
  upgradeArgv,
  type HelmTool,
} from '@veloz/harness/fixture-chart';
import { IMAGE, upgradeArgv, type HelmTool } from '@veloz/harness/fixture-chart';

export interface Cluster {
  sandbox: Sandbox;
  kubeconfigPath: string;
  /** Environment for an action bundle: KUBECONFIG and the chosen helm first on PATH. */
  env: Record<string, string>;
  helm(args: string[]): Promise<{ stdout: string; stderr: string; code: number }>;
  kubectl(args: string[]): Promise<{ stdout: string; stderr: string; code: number }>;
  /** Installs (or upgrades to) a version of the fixture chart the way an operator would. */
  install(version: string, extra?: string[]): Promise<void>;
  helmRevisions(): Promise<{ revision: number; status: string; app_version: string }[]>;
  /** An upgrade to a never-ready version that helm --wait reports as failed (release left `failed`). */
  failUpgrade(version: string): Promise<void>;
  /** An upgrade whose helm process is SIGKILLed mid-wait, leaving the release `pending-upgrade`. */
  leavePendingUpgrade(version: string): Promise<void>;
  /** A release lock Lease held by another run, renewed `renewedSecondsAgo` ago (by its clock), lasting `leaseSeconds`. */
  holdLease(holder: string, renewedSecondsAgo: number, action?: string, leaseSeconds?: number): void;
  stop(): Promise<void>;
}

/**
 * The fixture release at a version (values-production: 2 replicas, autoscaler on), with `--set`
 * values, once both replicas serve: the chart leaves replicas to the autoscaler, which brings the
 * release from 1 to its minimum of 2 after helm --wait has returned.
 */
export async function installServing(cluster: Cluster, version: string, sets: readonly string[] = []): Promise<void> {
  await cluster.install(
    version,
    sets.flatMap((s) => ['--set', s]),
  );
  await cluster.sandbox.waitFor(
    'deployments',
    'veloz',
    'veloz-engine',
    (d) => (d?.status as { readyReplicas?: number } | undefined)?.readyReplicas === 2,
    30_000,
  );
}

export async function startCluster(options: SandboxOptions & { helm?: HelmTool } = {}): Promise<Cluster> {
  const sandbox = await startSandbox({ podStartupDelayMs: 300, probeIntervalMs: 100, backoffMs: 300, ...options });
  const dir = await mkdtemp(join(tmpdir(), 'veloz-cluster-'));
  const kubeconfigPath = join(dir, 'kubeconfig');
  await sandbox.writeKubeconfig(kubeconfigPath);
  const helmBin = await toolPath(options.helm ?? 'helm3');
  const kubectlBin = await toolPath('kubectl');
  const env = { KUBECONFIG: kubeconfigPath, PATH: `${dirname(helmBin)}:${process.env.PATH ?? ''}` };
  const run = async (bin: string, args: string[]) => {
    try {
      const { stdout, stderr } = await execFileAsync(bin, args, { env: { ...process.env, ...env } });
      return { stdout, stderr, code: 0 };
    } catch (error) {
      const e = error as { stdout?: string; stderr?: string; code?: number };
      return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : 1 };
    }
  };
  const cluster: Cluster = {
    sandbox,
    kubeconfigPath,
    env,
    helm: (args) => run(helmBin, args),
    kubectl: (args) => run(kubectlBin, args),
    async install(version, extra = []) {
      const r = await cluster.helm(upgradeArgv(version, extra, '60s', true));
      if (r.code !== 0) throw new Error(`helm install ${version} failed: ${r.stderr}`);
    },
    async helmRevisions() {
      const r = await cluster.helm(['history', 'veloz', '-n', 'veloz', '-o', 'json']);
      return JSON.parse(r.stdout || '[]') as { revision: number; status: string; app_version: string }[];
    },
    async failUpgrade(version) {
      sandbox.setProfile(`${IMAGE}:${version}`, 'never-ready');
      const r = await cluster.helm(upgradeArgv(version, [], '2s'));
      if (r.code === 0) throw new Error(`helm upgrade to never-ready ${version} unexpectedly succeeded`);
    },
    async leavePendingUpgrade(version) {
      sandbox.setProfile(`${IMAGE}:${version}`, 'never-ready');
      const helm = spawn(helmBin, upgradeArgv(version, [], '60s'), {
        env: { ...process.env, ...env },
        stdio: 'ignore',
      });
      try {
        for (let i = 0; i < 100 && (await cluster.helmRevisions()).at(-1)?.status !== 'pending-upgrade'; i++) {
          await new Promise((r) => setTimeout(r, 100));
        }
      } finally {
        helm.kill('SIGKILL');
      }
    },
    holdLease(holder, renewedSecondsAgo, action = 'rollback', leaseSeconds = 120) {
      const time = new Date(Date.now() - renewedSecondsAgo * 1000).toISOString().replace('Z', '000Z');
      sandbox.apply({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name: 'veloz-deploy-veloz',
          namespace: 'veloz',
          annotations: { 'veloz.io/run-url': holder, 'veloz.io/actor': 'someone', 'veloz.io/action': action },
        },
        spec: { holderIdentity: holder, leaseDurationSeconds: leaseSeconds, acquireTime: time, renewTime: time },
      });
    },
    async stop() {
      await sandbox.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}
