/**
 * The demo's deployment target: the sandbox API server with the real helm and kubectl binaries,
 * a kubeconfig file, and the environment the action bundles run with (KUBECONFIG, tools on PATH).
 */
import { upgradeArgv } from '@veloz/harness/fixture-chart';
import { killOnExit } from '@veloz/harness/servers/server-process';
import { startSandbox, toolPath, type Sandbox } from '@veloz/sandbox';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export { CHART, IMAGE, VALUES_PRODUCTION } from '@veloz/harness/fixture-chart';
export const NAMESPACE = 'veloz';
export const RELEASE = 'veloz';
/** The fixture chart's Gateway and HTTPRoute (every install and every deploy of the demo sets it). */
export const GATEWAY_SET = 'gateway.enabled=true';
export const GATEWAY = 'veloz-gateway';
export const HTTP_ROUTE = 'veloz-engine';

export type Driver = 'helm3' | 'helm4' | 'kubectl';

export interface DemoCluster {
  sandbox: Sandbox;
  dir: string;
  kubeconfigPath: string;
  helmBin: string;
  kubectlBin: string;
  /** Environment for the action bundles; RUNNER_TEMP outlives each run so reports can be read. */
  env: Record<string, string>;
  /** `helm upgrade --install` of the fixture chart, the way an operator installs the first release. */
  install(version: string): Promise<void>;
  /** The Gateway listener's base URL on 127.0.0.1 (the sandbox's data plane). */
  gatewayUrl(): Promise<string>;
  /** Images of the engine pods that are not terminating, sorted. */
  engineImages(): string[];
  /** One line per engine pod: blue (the release) or green (a side-by-side canary), image, readiness. */
  podLines(): string[];
  stop(): Promise<void>;
}

export async function startDemoCluster(driver: Driver, name = 'veloz-demo'): Promise<DemoCluster> {
  // ~200 synthetic requests/s per pod: short 1 s validation intervals still hold stable rates.
  const sandbox = await startSandbox({
    podStartupDelayMs: 300,
    probeIntervalMs: 100,
    backoffMs: 300,
    engineSyntheticRps: 200,
  });
  try {
    const dir = await mkdtemp(join(tmpdir(), `${name}-`));
    const kubeconfigPath = join(dir, 'kubeconfig');
    await sandbox.writeKubeconfig(kubeconfigPath);
    const helmBin = await toolPath(driver === 'helm4' ? 'helm4' : 'helm3');
    const kubectlBin = await toolPath('kubectl');
    // Blue's pods, and green's: with traffic-router gateway-api green leaves blue's labels for its own Service.
    const enginePods = () => {
      const pods = [
        ...sandbox.list('pods', NAMESPACE, 'app.kubernetes.io/name=veloz'),
        ...sandbox.list('pods', NAMESPACE, 'veloz.io/track=green'),
      ];
      return pods.filter((p, i) => pods.findIndex((q) => q.metadata?.name === p.metadata?.name) === i);
    };
    const env = {
      KUBECONFIG: kubeconfigPath,
      PATH: `${dirname(helmBin)}:${dirname(kubectlBin)}:${process.env.PATH ?? ''}`,
      RUNNER_TEMP: join(dir, 'runner'),
    };
    return {
      sandbox,
      dir,
      kubeconfigPath,
      helmBin,
      kubectlBin,
      env,
      async install(version) {
        const helm = execFileAsync(helmBin, upgradeArgv(version, ['--set', GATEWAY_SET], '60s', true), {
          env: { ...process.env, ...env },
        });
        killOnExit(helm.child);
        await helm;
        // The platform team's policy for the engine (runbook §1.1 "Network policies in place"):
        // only the gateway reaches the engine's port.
        sandbox.apply({
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'veloz-engine-ingress', namespace: NAMESPACE },
          spec: {
            podSelector: {
              matchLabels: { 'app.kubernetes.io/name': 'veloz', 'app.kubernetes.io/component': 'engine' },
            },
            policyTypes: ['Ingress'],
            ingress: [{ from: [{ podSelector: { matchLabels: { app: 'veloz-gateway' } } }], ports: [{ port: 8080 }] }],
          },
        });
      },
      gatewayUrl: () => sandbox.gatewayUrl(NAMESPACE, GATEWAY),
      engineImages() {
        return enginePods()
          .filter((p) => !(p.metadata as { deletionTimestamp?: string }).deletionTimestamp)
          .map((p) => (p as unknown as { spec: { containers: { image: string }[] } }).spec.containers[0]?.image ?? '')
          .sort();
      },
      podLines() {
        type Pod = {
          metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
          spec: { containers: { image: string }[] };
          status?: { conditions?: { type: string; status: string }[] };
        };
        return (enginePods() as unknown as Pod[])
          .filter((p) => !p.metadata.deletionTimestamp)
          .map((p) => {
            const track = p.metadata.labels?.['veloz.io/track'] === 'green' ? 'green' : 'blue ';
            const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
            return `${track}  ${p.metadata.name.padEnd(36)} ${p.spec.containers[0]?.image ?? ''}  ${ready ? 'Ready' : 'not ready'}`;
          })
          .sort();
      },
      async stop() {
        await sandbox.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await sandbox.stop();
    throw error;
  }
}
