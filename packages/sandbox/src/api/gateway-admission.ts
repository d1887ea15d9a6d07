import type { StatusCause } from './errors';
import { deepEqual, isPlainObject, type JsonObject, type KubeObject } from '../util';

/**
 * Defaults and validation of the Gateway API kinds, as their CRD schemas (structural defaults,
 * OpenAPI bounds and CEL rules) make a real API server apply them. Only what clients here can meet.
 */
const obj = (v: unknown): JsonObject => (isPlainObject(v) ? v : {});
const arr = (v: unknown): JsonObject[] => (Array.isArray(v) ? v.filter(isPlainObject) : []);

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const MAX_WEIGHT = 1_000_000;
const MAX_RULES = 16;

const rootMatch = (): JsonObject => ({ path: { type: 'PathPrefix', value: '/' } });

export function defaultGatewayApi(kind: string, o: KubeObject): void {
  const spec = obj(o.spec);
  switch (kind) {
    case 'Gateway':
      o.spec = spec;
      for (const l of arr(spec.listeners)) {
        const allowed = obj(l.allowedRoutes);
        l.allowedRoutes = allowed;
        allowed.namespaces ??= { from: 'Same' };
      }
      break;
    case 'HTTPRoute': {
      o.spec = spec;
      for (const p of arr(spec.parentRefs)) {
        p.group ??= GATEWAY_GROUP;
        p.kind ??= 'Gateway';
      }
      if (spec.rules === undefined) spec.rules = [{ matches: [rootMatch()] }];
      for (const rule of arr(spec.rules)) {
        if (rule.matches === undefined) rule.matches = [rootMatch()];
        for (const m of arr(rule.matches)) {
          const path = obj(m.path ?? rootMatch().path);
          m.path = path;
          path.type ??= 'PathPrefix';
          path.value ??= '/';
          for (const h of arr(m.headers)) h.type ??= 'Exact';
        }
        for (const b of arr(rule.backendRefs)) {
          b.group ??= '';
          b.kind ??= 'Service';
          b.weight ??= 1;
        }
      }
      break;
    }
    default:
      break;
  }
}

export function validateGatewayApi(kind: string, o: KubeObject, previous?: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const required = (field: string): void =>
    void causes.push({ reason: 'FieldValueRequired', message: 'Required value', field });
  const invalid = (field: string, message: string): void =>
    void causes.push({ reason: 'FieldValueInvalid', message, field });
  const spec = obj(o.spec);
  switch (kind) {
    case 'GatewayClass':
      if (typeof spec.controllerName !== 'string' || !spec.controllerName) required('spec.controllerName');
      else if (previous && !deepEqual(obj(previous.spec).controllerName, spec.controllerName))
        invalid('spec.controllerName', `Invalid value: "${spec.controllerName}": Value is immutable`);
      break;
    case 'Gateway': {
      if (typeof spec.gatewayClassName !== 'string' || !spec.gatewayClassName) required('spec.gatewayClassName');
      const listeners = arr(spec.listeners);
      if (listeners.length === 0) required('spec.listeners');
      const names = new Set<string>();
      listeners.forEach((l, i) => {
        if (!l.name) required(`spec.listeners[${i}].name`);
        else if (names.has(String(l.name)))
          invalid(`spec.listeners[${i}].name`, `Duplicate value: {"name":${JSON.stringify(l.name)}}`);
        names.add(String(l.name));
        if (typeof l.port !== 'number') required(`spec.listeners[${i}].port`);
        if (!l.protocol) required(`spec.listeners[${i}].protocol`);
      });
      break;
    }
    case 'HTTPRoute': {
      const rules = arr(spec.rules);
      if (rules.length > MAX_RULES)
        causes.push({
          reason: 'FieldValueTooMany',
          message: `Too many: ${rules.length}: must have at most ${MAX_RULES} items`,
          field: 'spec.rules',
        });
      rules.forEach((rule, i) =>
        arr(rule.backendRefs).forEach((b, j) => {
          const at = `spec.rules[${i}].backendRefs[${j}]`;
          if (!b.name) required(`${at}.name`);
          const w = b.weight;
          if (typeof w !== 'number' || !Number.isInteger(w) || w < 0 || w > MAX_WEIGHT)
            invalid(`${at}.weight`, `Invalid value: ${JSON.stringify(w)}: must be an integer from 0 to ${MAX_WEIGHT}`);
          if ((b.kind ?? 'Service') === 'Service' && (b.group ?? '') === '' && b.port === undefined)
            invalid(at, 'Invalid value: "object": Must have port for Service reference');
        }),
      );
      break;
    }
    default:
      break;
  }
  return causes;
}
