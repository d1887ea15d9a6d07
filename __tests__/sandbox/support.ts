import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox, toolPath, type Sandbox, type SandboxOptions, type ToolName } from '@veloz/sandbox';

export const CHART = join(process.cwd(), '__tests__/fixtures/chart/veloz');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A sandbox plus a private HOME/kubeconfig, so real kubectl/helm runs are isolated per test file. */
export interface TestCluster {
  sandbox: Sandbox;
  dir: string;
  kubeconfig: string;
  run(tool: ToolName, args: string[], opts?: { timeoutMs?: number }): Promise<RunResult>;
  spawn(tool: ToolName, args: string[]): Promise<ChildProcess>;
  close(): Promise<void>;
}

export async function startTestCluster(opts: SandboxOptions = {}): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'veloz-sandbox-test-'));
  const kubeconfig = join(dir, 'kubeconfig');
  const sandbox = await startSandbox({
    podStartupDelayMs: 150,
    probeIntervalMs: 100,
    backoffMs: 300,
    engineSyntheticRps: 0,
    ...opts,
    kubeconfigPath: kubeconfig,
  });
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    KUBECONFIG: kubeconfig,
    HELM_CACHE_HOME: join(dir, 'helm-cache'),
    HELM_CONFIG_HOME: join(dir, 'helm-config'),
    HELM_DATA_HOME: join(dir, 'helm-data'),
  };
  const children = new Set<ChildProcess>();
  return {
    sandbox,
    dir,
    kubeconfig,
    run: async (tool, args, o = {}) => {
      const bin = await toolPath(tool);
      return new Promise((resolve) => {
        const child = execFile(
          bin,
          args,
          { env, timeout: o.timeoutMs ?? 90_000, maxBuffer: 32 * 1024 * 1024 },
          (err, stdout, stderr) => {
            children.delete(child);
            const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
            resolve({ code, stdout: String(stdout), stderr: String(stderr) });
          },
        );
        children.add(child);
      });
    },
    spawn: async (tool, args) => {
      const child = spawn(await toolPath(tool), args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      children.add(child);
      child.on('exit', () => children.delete(child));
      return child;
    },
    close: async () => {
      for (const c of children) c.kill('SIGKILL');
      await sandbox.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until fn returns a truthy value (or throws after timeoutMs). */
export async function eventually<T>(
  fn: () => T | Promise<T>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function deploymentManifest(
  name: string,
  image: string,
  extra: { replicas?: number; progressDeadlineSeconds?: number; labels?: Record<string, string> } = {},
): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels: { app: name, ...extra.labels } },
    spec: {
      replicas: extra.replicas ?? 2,
      ...(extra.progressDeadlineSeconds ? { progressDeadlineSeconds: extra.progressDeadlineSeconds } : {}),
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'main',
              image,
              ports: [{ containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/health/ready', port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  });
}
