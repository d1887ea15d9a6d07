import type { HttpEndpoint } from '../http/endpoint';
import type { Kube } from './client';

/**
 * An endpoint that reaches a pod or Service through the API server's proxy — how runbook §2.2
 * step 3 validates the green pod alone, without `kubectl port-forward`. The API server's credentials
 * and CA come from the kubeconfig.
 */
export async function proxyEndpoint(
  kube: Kube,
  kind: 'pods' | 'services',
  namespace: string,
  name: string,
  port: string,
): Promise<HttpEndpoint> {
  const options: {
    headers?: Record<string, string>;
    ca?: unknown;
    cert?: unknown;
    key?: unknown;
    rejectUnauthorized?: boolean;
  } = {};
  await kube.config.applyToHTTPSOptions(options as never);
  const pem = (value: unknown): string | undefined => (value === undefined ? undefined : String(value));
  return {
    baseUrl: `${kube.server}/api/v1/namespaces/${encodeURIComponent(namespace)}/${kind}/${encodeURIComponent(name)}:${encodeURIComponent(port)}/proxy`,
    headers: { ...(options.headers ?? {}) },
    tls: {
      ca: pem(options.ca),
      cert: pem(options.cert),
      key: pem(options.key),
      rejectUnauthorized: options.rejectUnauthorized,
    },
    dropsAuthorization: true,
    describe: `${kind === 'pods' ? 'pod' : 'service'} ${name}:${port} (${kind}/proxy)`,
  };
}
