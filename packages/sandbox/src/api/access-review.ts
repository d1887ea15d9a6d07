/** SelfSubjectAccessReview and SelfSubjectRulesReview (`kubectl auth can-i`), answered from the user's RBAC rules. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { allows, type Identity, type RequestAttributes } from './auth';
import { methodNotAllowed } from './errors';
import { readObject, send } from './http-io';
import type { JsonObject } from '../util';

export async function accessReview(user: Identity, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') throw methodNotAllowed();
  const body = await readObject(req);
  const spec = (body.spec ?? {}) as JsonObject;
  const ra = (spec.resourceAttributes ?? {}) as JsonObject;
  const nra = spec.nonResourceAttributes as JsonObject | undefined;
  const attrs: RequestAttributes = nra
    ? { verb: String(nra.verb ?? ''), apiGroup: '', resource: '', path: String(nra.path ?? '') }
    : {
        verb: String(ra.verb ?? ''),
        apiGroup: String(ra.group ?? ''),
        resource: String(ra.resource ?? ''),
        ...(ra.subresource ? { subresource: String(ra.subresource) } : {}),
        ...(ra.namespace ? { namespace: String(ra.namespace) } : {}),
        ...(ra.name ? { name: String(ra.name) } : {}),
      };
  const allowed = allows(user.rules, attrs);
  send(res, 201, {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec,
    status: allowed
      ? {
          allowed: true,
          reason: user.rules
            ? 'RBAC: allowed by the sandbox RBAC document'
            : 'the sandbox allows everything for this user',
        }
      : { allowed: false },
  });
}

export async function rulesReview(user: Identity, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') throw methodNotAllowed();
  const body = await readObject(req);
  const rules = user.rules ?? [
    { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
    { verbs: ['*'], nonResourceURLs: ['*'] },
  ];
  send(res, 201, {
    kind: 'SelfSubjectRulesReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null },
    spec: body.spec ?? {},
    status: {
      resourceRules: rules
        .filter((x) => !x.nonResourceURLs)
        .map((x) => ({
          verbs: x.verbs,
          apiGroups: x.apiGroups ?? [],
          resources: x.resources ?? [],
          ...(x.resourceNames ? { resourceNames: x.resourceNames } : {}),
        })),
      nonResourceRules: rules
        .filter((x) => x.nonResourceURLs)
        .map((x) => ({ verbs: x.verbs, nonResourceURLs: x.nonResourceURLs })),
      incomplete: false,
    },
  });
}
