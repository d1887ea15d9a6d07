/**
 * A session for a plan: the API clients and the kubeconfig file helm needs, and no release lock. A
 * plan only reads (taking the Lease would be a write), so it may run while a deploy holds the lock.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunContext } from '../contract';
import type { TargetSettings } from '../target';
import { connectKube } from '../kube/client';
import type { KubeSession } from '../kube/session';

export async function openReadSession(target: TargetSettings, context: RunContext): Promise<KubeSession> {
  const kube = await connectKube(target.kubeconfig, (line) => context.log.info(line));
  // Nothing may write: a plan's mutating request fails here before it reaches the cluster.
  kube.fence.markLost({
    holder: 'nobody: this is a plan (plan: true), which makes no changes',
    at: context.clock.now(),
    lease: '-',
    namespace: target.namespace,
  });
  const toolEnv: Record<string, string> = {};
  let dir: string | undefined;
  if (target.kubeconfig) {
    dir = await mkdtemp(join(context.tempDir || tmpdir(), 'veloz-plan-'));
    toolEnv.KUBECONFIG = join(dir, 'config');
    await writeFile(toolEnv.KUBECONFIG, target.kubeconfig, { mode: 0o600 });
  }
  return {
    kube,
    lock: { fence: kube.fence, release: async () => {} },
    toolEnv,
    fence: () => {},
    lockLost: new AbortController().signal,
    async close() {
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}
