// Only the README needs the manifests (a test compares them): kept out of the bundled product code.
import { STAGES, stageRules, type ReleaseNames, type Stage } from '@veloz/shared/kube/permissions';

const EXAMPLE: ReleaseNames = {
  release: 'veloz',
  deployment: 'veloz-engine',
  service: 'veloz-engine',
  route: 'veloz-engine',
};

/** One stage's Role (and, for the canary stage, the ClusterRole preflight needs), as YAML. */
export function stageRoleManifest(stage: Stage, namespace = 'veloz', names: ReleaseNames = EXAMPLE): string {
  const rules = (cluster: boolean): string =>
    stageRules(stage, names, cluster)
      .map(
        (r) =>
          `  - apiGroups: ['${r.group}']${r.router ? ` # only with traffic-router: ${r.router}` : ''}\n    resources: ['${r.resource}']\n${r.resourceNames ? `    resourceNames: [${r.resourceNames.map((n) => `'${n}'`).join(', ')}]\n` : ''}    verbs: [${r.verbs
            .map((v) => `'${v}'`)
            .join(', ')}]`,
      )
      .join('\n');
  const role = (kind: 'Role' | 'ClusterRole', cluster: boolean): string[] => [
    'apiVersion: rbac.authorization.k8s.io/v1',
    `kind: ${kind}`,
    'metadata:',
    `  name: veloz-${stage}`,
    ...(cluster ? [] : [`  namespace: ${namespace}`]),
    'rules:',
    rules(cluster),
  ];
  const clusterRules = stageRules(stage, names, true);
  return [...role('Role', false), ...(clusterRules.length ? ['---', ...role('ClusterRole', true)] : [])].join('\n');
}

/** Every stage's Roles, as the README prints them for `kubectl apply`. */
export function roleManifests(namespace = 'veloz', names: ReleaseNames = EXAMPLE): string {
  return STAGES.map((stage) => stageRoleManifest(stage, namespace, names)).join('\n---\n');
}
