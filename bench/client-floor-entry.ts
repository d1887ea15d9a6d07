/**
 * The Kubernetes client's floor (figure 4): an entry that loads @actions/core and @kubernetes/client-node
 * (as our bundle does, on demand) and reads the Deployment once, bundled by bench/restore.ts with ncc the
 * way dist/ is. No step using these libraries can send its first request sooner.
 */
import * as core from '@actions/core';

const lib = await import('@kubernetes/client-node');
const config = new lib.KubeConfig();
config.loadFromFile(process.env.KUBECONFIG ?? '');
const apps = config.makeApiClient(lib.AppsV1Api);
await apps.readNamespacedDeployment({ name: core.getInput('deployment'), namespace: core.getInput('namespace') });
