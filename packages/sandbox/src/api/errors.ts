import type { ResourceDef } from './resources';

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** metav1.Status as the API server returns it for every failure. */
export interface StatusObject {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

/** An error that renders as a Kubernetes Status with the right HTTP code. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toStatus(): StatusObject {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** "deployments.apps" — the group-qualified resource name used in error messages. */
export function qualified(def: Pick<ResourceDef, 'plural' | 'group'>): string {
  return def.group ? `${def.plural}.${def.group}` : def.plural;
}

export const notFound = (def: ResourceDef, name: string): ApiError =>
  new ApiError(404, 'NotFound', `${qualified(def)} "${name}" not found`, {
    name,
    group: def.group,
    kind: def.plural,
  });

export const alreadyExists = (def: ResourceDef, name: string): ApiError =>
  new ApiError(409, 'AlreadyExists', `${qualified(def)} "${name}" already exists`, {
    name,
    group: def.group,
    kind: def.plural,
  });

export const conflict = (def: ResourceDef, name: string, why?: string): ApiError =>
  new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(def)} "${name}": ${
      why ?? 'the object has been modified; please apply your changes to the latest version and try again'
    }`,
    { name, group: def.group, kind: def.plural },
  );

/** 422 in Kubernetes' wording: `Deployment.apps "x" is invalid: spec.selector: Required value`. */
export function invalid(def: ResourceDef, name: string, causes: StatusCause[]): ApiError {
  const kind = def.group ? `${def.kind}.${def.group}` : def.kind;
  const text = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(', ');
  const summary = causes.length > 1 ? `[${text}]` : text;
  return new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${summary}`, {
    name,
    group: def.group,
    kind: def.kind,
    causes,
  });
}

export const badRequest = (message: string): ApiError => new ApiError(400, 'BadRequest', message);

export const methodNotAllowed = (): ApiError =>
  new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');

export const unsupportedMediaType = (contentType: string, accepted: string[]): ApiError =>
  new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format (${contentType || 'none'}) - accepted media types include: ${accepted.join(', ')}`,
  );

export const gone = (message: string): ApiError => new ApiError(410, 'Expired', message);

export const pathNotFound = (): ApiError =>
  new ApiError(404, 'NotFound', 'the server could not find the requested resource');
