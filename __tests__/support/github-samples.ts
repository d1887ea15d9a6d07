/**
 * Smallest valid instance of a schema from GitHub's description: every required property, the first
 * enum value, null where null is allowed. The double builds response bodies as sample + the fields a
 * test cares about, and then validates them, so an override that breaks the schema is a violation.
 */
import type { JsonSchema } from './github-openapi';

const SAMPLE_BASE = 'https://github.invalid/sample';

export function sampleOf(schema: JsonSchema, definitions: Record<string, JsonSchema>, depth = 0): unknown {
  if (depth > 40) throw new Error('schema too deep to sample');
  const next = (s: unknown): unknown => sampleOf(s as JsonSchema, definitions, depth + 1);
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.slice(schema.$ref.lastIndexOf('/') + 1);
    const target = definitions[name];
    if (!target) throw new Error(`no schema ${name}`);
    return next(target);
  }
  if (Array.isArray(schema.allOf)) {
    return Object.assign({}, ...schema.allOf.map((s) => next(s) as object)) as unknown;
  }
  const options = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (options) return next(options.find((o) => o.type === 'null') ?? options[0]);
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum.includes(null) ? null : schema.enum[0];
  const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string | undefined];
  if (types.includes('null')) return null;
  switch (types[0] ?? (schema.properties ? 'object' : undefined)) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const required = (schema.required ?? []) as string[];
      return Object.fromEntries(required.map((key) => [key, next(properties[key] ?? {})]));
    }
    case 'array':
      return Array.from({ length: Number(schema.minItems ?? 0) }, () => next(schema.items ?? {}));
    case 'string':
      return sampleString(schema);
    case 'integer':
    case 'number':
      return Number(schema.minimum ?? 1);
    case 'boolean':
      return false;
    default:
      return null;
  }
}

function sampleString(schema: JsonSchema): string {
  switch (schema.format) {
    case 'date-time':
      return '2026-01-01T00:00:00Z';
    case 'date':
      return '2026-01-01';
    case 'uri':
    case 'url':
      return SAMPLE_BASE;
    case 'uri-template':
      return `${SAMPLE_BASE}{/id}`;
    case 'email':
      return 'octocat@github.invalid';
    case 'uuid':
      return '00000000-0000-4000-8000-000000000000';
    default:
      return 'x'.repeat(Number(schema.minLength ?? 1));
  }
}

/** Sample merged with overrides: objects merged deeply, everything else replaced. */
export function withFields<T>(base: unknown, overrides: unknown): T {
  if (!isObject(base) || !isObject(overrides)) return (overrides === undefined ? base : overrides) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overrides)) out[k] = withFields(base[k], v);
  return out as T;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
