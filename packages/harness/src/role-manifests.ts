// Only the README needs the manifests (a test compares them): kept out of the bundled product code.
import { PERMISSIONS } from '@veloz/shared/kube/permissions';

/** The least-privilege Role and ClusterRole, as YAML, as the README prints them for `kubectl apply`. */
export function roleManifests(namespace = 'veloz', name = 'veloz-deployer'): string {
  const rules = (cluster: boolean): string =>
    PERMISSIONS.filter((p) => !!p.cluster === cluster)
      .map(
        (p) =>
          `  - apiGroups: ['${p.group}']${p.router ? ` # only with traffic-router: ${p.router}` : ''}\n    resources: ['${p.resource}${p.subresource ? `/${p.subresource}` : ''}']\n    verbs: [${p.verbs
            .map((v) => `'${v}'`)
            .join(', ')}]`,
      )
      .join('\n');
  return [
    'apiVersion: rbac.authorization.k8s.io/v1',
    'kind: Role',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${namespace}`,
    'rules:',
    rules(false),
    '---',
    'apiVersion: rbac.authorization.k8s.io/v1',
    'kind: ClusterRole',
    'metadata:',
    `  name: ${name}`,
    'rules:',
    rules(true),
  ].join('\n');
}
