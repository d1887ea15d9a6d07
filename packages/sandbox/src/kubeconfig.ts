import { stringify } from 'yaml';

export interface KubeconfigOptions {
  server: string;
  token: string;
  /** base64 PEM of the CA that signed the server certificate. */
  caData: string;
  namespace?: string;
  name?: string;
}

/** A kubeconfig with one cluster, one token user and a current context (namespace veloz by default). */
export function kubeconfigYaml(o: KubeconfigOptions): string {
  const name = o.name ?? 'veloz-sandbox';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: o.server, 'certificate-authority-data': o.caData } }],
    users: [{ name: `${name}-user`, user: { token: o.token } }],
    contexts: [{ name, context: { cluster: name, user: `${name}-user`, namespace: o.namespace ?? 'veloz' } }],
    'current-context': name,
    preferences: {},
  });
}
