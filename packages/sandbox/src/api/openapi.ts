import { createHash } from 'node:crypto';
import { groupVersions, RESOURCES, type ResourceDef } from './resources';

/**
 * OpenAPI v3, as much as clients need: kubectl (and helm, through the same cli-runtime code) fetch
 * /openapi/v3 to learn whether PATCH supports the `fieldValidation` query parameter; without an
 * answer, `kubectl apply` refuses to run ("failed to download openapi"). The documents list each
 * resource's operations with `x-kubernetes-group-version-kind`; no schemas, so clients compute
 * strategic merge patches from their built-in types, as they do for any server without schemas.
 */
const gvPath = (group: string, version: string): string => (group ? `apis/${group}/${version}` : `api/${version}`);

function docFor(group: string, version: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  const defs = RESOURCES.filter((r) => r.group === group && r.version === version);
  for (const def of defs) {
    const base = `/${gvPath(group, version)}${def.namespaced ? '/namespaces/{namespace}' : ''}/${def.plural}`;
    const gvk = { group, version, kind: def.kind };
    const params = (names: string[]): unknown[] =>
      names.map((name) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } }));
    const op = (action: string, extra: string[] = []): Record<string, unknown> => ({
      operationId: `${action}${def.kind}`,
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
      parameters: params(['dryRun', 'fieldManager', ...extra]),
      responses: { '200': { description: 'OK' } },
    });
    const patchOp = {
      ...op('patch', ['fieldValidation', 'force']),
      // No strategic-merge content type here on purpose: clients then compute patches from their built-in types.
      requestBody: {
        content: {
          'application/json-patch+json': {},
          'application/merge-patch+json': {},
          'application/apply-patch+yaml': {},
        },
        required: true,
      },
    };
    if (def.verbs.includes('create'))
      paths[base] = {
        post: op('post', ['fieldValidation']),
        ...(def.verbs.includes('list') ? { get: op('list') } : {}),
      };
    if (def.verbs.includes('get')) {
      paths[`${base}/{name}`] = {
        get: op('get'),
        put: op('put', ['fieldValidation']),
        patch: patchOp,
        delete: op('delete'),
      };
    }
    for (const sub of def.subresources.filter((s) => s === 'status' || s === 'scale')) {
      paths[`${base}/{name}/${sub}`] = {
        get: op('get'),
        put: op('put', ['fieldValidation']),
        patch: {
          ...patchOp,
          'x-kubernetes-group-version-kind':
            sub === 'scale' ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : gvk,
        },
      };
    }
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.33.0' }, paths, components: { schemas: {} } };
}

const hashOf = (doc: unknown): string =>
  createHash('sha512').update(JSON.stringify(doc)).digest('hex').slice(0, 128).toUpperCase();

export function openApiDocument(path: string, _query: URLSearchParams): unknown {
  if (path === '/openapi/v3') {
    const paths: Record<string, unknown> = {};
    for (const gv of groupVersions()) {
      const key = gvPath(gv.group, gv.version);
      paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hashOf(docFor(gv.group, gv.version))}` };
    }
    return { paths };
  }
  const m = /^\/openapi\/v3\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
  if (!m) return undefined;
  const group = m[1] ? '' : (m[2] ?? '');
  const version = m[1] ?? m[3] ?? '';
  if (!RESOURCES.some((r: ResourceDef) => r.group === group && r.version === version)) return undefined;
  return docFor(group, version);
}
