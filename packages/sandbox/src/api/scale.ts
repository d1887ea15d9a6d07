/** The `scale` subresource of Deployments and ReplicaSets: read and write `spec.replicas` as an autoscaling/v1 Scale. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, conflict, methodNotAllowed } from './errors';
import { patchType, readBody, readObject, send } from './http-io';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch';
import type { Registry } from './registry';
import type { ResourceRoute } from './routes';
import { formatLabelSelector } from './selectors';
import type { JsonObject, KubeObject } from '../util';

export async function serveScale(
  reg: Registry,
  r: ResourceRoute,
  method: string,
  req: IncomingMessage,
  res: ServerResponse,
  { dryRun, fieldManager }: { dryRun: boolean; fieldManager: string | undefined },
): Promise<void> {
  const target = reg.get(r.def, r.namespace, r.name ?? '');
  const scaleOf = (o: KubeObject): KubeObject => ({
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: o.metadata.name,
      namespace: o.metadata.namespace,
      uid: o.metadata.uid,
      resourceVersion: o.metadata.resourceVersion,
      creationTimestamp: o.metadata.creationTimestamp,
    },
    spec: { replicas: (o.spec as JsonObject).replicas },
    status: {
      replicas: (o.status as JsonObject | undefined)?.replicas ?? 0,
      selector: formatLabelSelector((o.spec as JsonObject).selector),
    },
  });
  const current = scaleOf(target);
  let desired: KubeObject;
  switch (method) {
    case 'GET':
      return send(res, 200, current);
    case 'PUT': {
      desired = await readObject(req);
      const rv = desired.metadata?.resourceVersion;
      if (rv && rv !== target.metadata.resourceVersion) throw conflict(r.def, r.name ?? '');
      break;
    }
    case 'PATCH': {
      const type = patchType(req.headers['content-type']);
      const body = await readBody(req, type === 'apply');
      desired = (
        type === 'json'
          ? jsonPatch(current, body)
          : type === 'merge'
            ? mergePatch(current, body)
            : strategicMergePatch(current, body)
      ) as KubeObject;
      break;
    }
    default:
      throw methodNotAllowed();
  }
  const replicas = (desired.spec as JsonObject | undefined)?.replicas;
  if (typeof replicas !== 'number' || replicas < 0 || !Number.isInteger(replicas)) {
    throw new ApiError(
      422,
      'Invalid',
      `Scale.autoscaling "${r.name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
    );
  }
  const updated = reg.patch(
    r.def,
    r.namespace,
    r.name ?? '',
    'merge',
    { spec: { replicas } },
    { dryRun, ...(fieldManager ? { fieldManager } : {}) },
  );
  send(res, 200, scaleOf(updated));
}
