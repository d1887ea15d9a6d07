/**
 * GitHub's published REST description (npm @octokit/openapi), cut down to the operations a test double
 * serves and compiled into JSON-schema validators. The extract is cached under node_modules/.cache keyed
 * by the package version, so only the first test file of a fresh install parses the description.
 */
import { REPO_ROOT } from '@veloz/harness';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// ajv-formats is CommonJS; under ESM its function may sit on `.default`.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ??
  addFormatsModule) as unknown as (ajv: Ajv) => Ajv;

const PACKAGE_DIR = join(REPO_ROOT, 'node_modules', '@octokit', 'openapi');
// Non-dereferenced description: 13 MB instead of 73 MB, and recursive schemas stay $refs.
const DESCRIPTION = join(PACKAGE_DIR, 'generated', 'api.github.com.json');
const CACHE_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'veloz-github-openapi');
/** Bump when the extraction below changes, so stale caches are ignored. */
const EXTRACT_FORMAT = 1;
const SCHEMAS_ID = 'https://veloz.invalid/github-openapi/schemas.json';

export type JsonSchema = Record<string, unknown>;

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  schema: JsonSchema;
}

export interface Operation {
  operationId: string;
  method: string;
  /** OpenAPI path template, e.g. /repos/{owner}/{repo}/deployments. */
  path: string;
  parameters: Parameter[];
  requestBody?: { required: boolean; schema: JsonSchema };
  /** Status code -> JSON schema of the body (null when the status has no JSON body). */
  responses: Record<string, JsonSchema | null>;
}

interface Extract {
  format: number;
  version: string;
  operations: Operation[];
  schemas: Record<string, JsonSchema>;
}

export interface OperationValidators {
  operation: Operation;
  /** Validates (and coerces from strings) the path or query parameters. */
  params(location: 'path' | 'query', values: Record<string, unknown>): string[];
  body(value: unknown): string[];
  response(status: number, value: unknown): string[];
}

export interface GithubApiDescription {
  version: string;
  /** Validates a value against a component schema (e.g. basic-error for an undocumented 404). */
  schema(name: string, value: unknown): string[];
  /** How long loading took, and whether the cached extract was used. */
  loadMs: number;
  fromCache: boolean;
  operation(operationId: string): OperationValidators;
  /** The loaded component schemas (JSON Schema, $refs into SCHEMAS_ID), to build sample bodies from. */
  definitions: Record<string, JsonSchema>;
}

/** Loads (from cache, or by extracting from the description) and compiles the given operations. */
export async function loadGithubApi(
  operationIds: readonly string[],
  componentSchemas: readonly string[] = [],
): Promise<GithubApiDescription> {
  const started = performance.now();
  const version = (JSON.parse(await readFile(join(PACKAGE_DIR, 'package.json'), 'utf8')) as { version: string })
    .version;
  const key = createHash('sha256')
    .update(`${EXTRACT_FORMAT}:${[...operationIds].sort().join(',')}:${[...componentSchemas].sort().join(',')}`)
    .digest('hex')
    .slice(0, 12);
  const cacheFile = join(CACHE_DIR, `api.github.com-${version}-${key}.json`);
  let extract: Extract | undefined;
  let fromCache = false;
  if (existsSync(cacheFile)) {
    try {
      const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as Extract;
      if (cached.format === EXTRACT_FORMAT && cached.version === version) {
        extract = cached;
        fromCache = true;
      }
    } catch {
      // a torn or foreign file: extract again
    }
  }
  if (!extract) {
    const doc = JSON.parse(await readFile(DESCRIPTION, 'utf8')) as OpenApiDocument;
    extract = extractOperations(doc, operationIds, componentSchemas);
    extract.version = version;
    await mkdir(CACHE_DIR, { recursive: true });
    // two jest workers may extract at once: write aside, then rename atomically
    const temp = `${cacheFile}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(extract));
    await rename(temp, cacheFile);
  }
  const { operation, schema } = compile(extract);
  return {
    version,
    loadMs: performance.now() - started,
    fromCache,
    operation,
    schema,
    definitions: extract.schemas,
  };
}

// ---- extraction -------------------------------------------------------------------------------

interface OpenApiDocument {
  paths: Record<string, Record<string, Record<string, unknown>>>;
  components: {
    schemas: Record<string, unknown>;
    parameters: Record<string, unknown>;
    responses: Record<string, unknown>;
  };
}

type Json = Record<string, unknown>;

function extractOperations(
  doc: OpenApiDocument,
  operationIds: readonly string[],
  componentSchemas: readonly string[],
): Extract {
  const operations: Operation[] = [];
  const needed = new Set<string>(componentSchemas);
  const deref = <T>(node: unknown, section: 'parameters' | 'responses'): T => {
    const ref = (node as Json).$ref;
    if (typeof ref !== 'string') return node as T;
    const name = ref.replace(`#/components/${section}/`, '');
    const target = doc.components[section][name];
    if (!target) throw new Error(`unresolved ${ref}`);
    return target as T;
  };
  const schemaOf = (node: unknown): JsonSchema => toJsonSchema(node, needed);

  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!operationIds.includes(op.operationId as string)) continue;
      const parameters = ((op.parameters as unknown[] | undefined) ?? []).map((p) => {
        const param = deref<Json>(p, 'parameters');
        return {
          name: param.name as string,
          in: param.in as Parameter['in'],
          required: param.required === true,
          schema: schemaOf(param.schema),
        };
      });
      const body = op.requestBody as { required?: boolean; content?: Record<string, { schema: unknown }> } | undefined;
      const bodySchema = body?.content?.['application/json']?.schema;
      const responses: Record<string, JsonSchema | null> = {};
      for (const [status, r] of Object.entries(op.responses as Json)) {
        const response = deref<{ content?: Record<string, { schema: unknown }> }>(r, 'responses');
        const schema = response.content?.['application/json']?.schema;
        responses[status] = schema === undefined ? null : schemaOf(schema);
      }
      operations.push({
        operationId: op.operationId as string,
        method: method.toUpperCase(),
        path,
        parameters,
        requestBody: bodySchema
          ? { required: body?.required === true, schema: strictBody(schemaOf(bodySchema)) }
          : undefined,
        responses,
      });
    }
  }
  const missing = operationIds.filter((id) => !operations.some((o) => o.operationId === id));
  if (missing.length) throw new Error(`operations not in GitHub's description: ${missing.join(', ')}`);

  // follow $refs between component schemas until closed
  const schemas: Record<string, JsonSchema> = {};
  for (let pending = [...needed]; pending.length; pending = [...needed].filter((n) => !(n in schemas))) {
    for (const name of pending) {
      const source = doc.components.schemas[name];
      if (!source) throw new Error(`unresolved schema ${name}`);
      schemas[name] = toJsonSchema(source, needed);
    }
  }
  return { format: EXTRACT_FORMAT, version: '', operations, schemas };
}

/**
 * GitHub ignores body fields it does not know; for a client that is a typo that silently does nothing
 * (an `auto_inactve` that never applies), so the double rejects them.
 */
function strictBody(schema: JsonSchema): JsonSchema {
  return schema.type === 'object' && schema.additionalProperties === undefined
    ? { ...schema, additionalProperties: false }
    : schema;
}

const SUBSCHEMA_MAPS = ['properties', 'patternProperties'] as const;
const SUBSCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf'] as const;
const SUBSCHEMAS = ['items', 'additionalProperties', 'not'] as const;
/** OpenAPI 3.0 keywords that are not JSON Schema (ajv's strict mode rejects unknown keywords). */
const OPENAPI_ONLY = new Set(['example', 'externalDocs', 'xml', 'discriminator', 'nullable']);

/**
 * OpenAPI 3.0 schema -> JSON Schema (draft-07, as ajv reads it): `nullable: true` becomes a `null`
 * type (or an anyOf with null where there is no `type`, e.g. around a $ref), OpenAPI-only and `x-`
 * keywords go, and component $refs point into one shared schema document. Walks keywords, not
 * arbitrary keys, because property names such as `example` are data.
 */
function toJsonSchema(node: unknown, needed: Set<string>): JsonSchema {
  if (typeof node !== 'object' || node === null) return node as JsonSchema;
  const source = node as Json;
  const out: Json = {};
  for (const [key, value] of Object.entries(source)) {
    if (OPENAPI_ONLY.has(key) || key.startsWith('x-')) continue;
    if (key === '$ref' && typeof value === 'string') {
      const name = value.replace('#/components/schemas/', '');
      needed.add(name);
      out.$ref = `${SCHEMAS_ID}#/definitions/${name}`;
    } else if ((SUBSCHEMA_MAPS as readonly string[]).includes(key)) {
      out[key] = Object.fromEntries(Object.entries(value as Json).map(([k, v]) => [k, toJsonSchema(v, needed)]));
    } else if ((SUBSCHEMA_LISTS as readonly string[]).includes(key)) {
      out[key] = (value as unknown[]).map((v) => toJsonSchema(v, needed));
    } else if ((SUBSCHEMAS as readonly string[]).includes(key) && typeof value === 'object') {
      out[key] = Array.isArray(value) ? value.map((v) => toJsonSchema(v, needed)) : toJsonSchema(value, needed);
    } else {
      out[key] = value;
    }
  }
  if (source.nullable !== true) return out;
  if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  if (typeof out.type === 'string') return { ...out, type: [out.type, 'null'] };
  // no type to widen ($ref, allOf, oneOf): null is the other alternative
  const { title, description, ...rest } = out;
  return { title, description, anyOf: [rest, { type: 'null' }] };
}

// ---- validation -------------------------------------------------------------------------------

function compile(extract: Extract): {
  operation: (operationId: string) => OperationValidators;
  schema: (name: string, value: unknown) => string[];
} {
  const options = { allErrors: true, strict: true, strictTypes: false, strictTuples: false } as const;
  const ajv = addFormats(new Ajv(options));
  // query and path parameters arrive as strings: coerce to the declared types while validating
  const ajvParams = addFormats(new Ajv({ ...options, coerceTypes: true }));
  for (const a of [ajv, ajvParams]) a.addSchema({ $id: SCHEMAS_ID, definitions: extract.schemas });

  const byId = new Map<string, OperationValidators>();
  for (const operation of extract.operations) {
    const paramValidators = new Map<string, ValidateFunction>();
    for (const location of ['path', 'query'] as const) {
      const params = operation.parameters.filter((p) => p.in === location);
      paramValidators.set(
        location,
        ajvParams.compile({
          type: 'object',
          properties: Object.fromEntries(params.map((p) => [p.name, p.schema])),
          required: params.filter((p) => p.required).map((p) => p.name),
          // an unknown filter is silently ignored by GitHub: the caller would get unfiltered results
          additionalProperties: false,
        }),
      );
    }
    const body = operation.requestBody ? ajv.compile(operation.requestBody.schema) : undefined;
    const responses = new Map<string, ValidateFunction>();
    for (const [status, schema] of Object.entries(operation.responses)) {
      if (schema) responses.set(status, ajv.compile(schema));
    }
    byId.set(operation.operationId, {
      operation,
      params: (location, values) => run(paramValidators.get(location), values, location),
      body: (value) => {
        if (value === undefined) return operation.requestBody?.required ? ['body is required'] : [];
        return body ? run(body, value, 'body') : ['this operation takes no body'];
      },
      response: (status, value) => {
        const validate = responses.get(String(status));
        if (!validate) {
          return String(status) in operation.responses
            ? []
            : [`status ${status} is not a documented response of ${operation.operationId}`];
        }
        return run(validate, value, 'response');
      },
    });
  }
  return {
    operation: (operationId) => {
      const found = byId.get(operationId);
      if (!found) throw new Error(`operation ${operationId} was not loaded`);
      return found;
    },
    schema: (name, value) => {
      if (!(name in extract.schemas)) throw new Error(`schema ${name} was not loaded`);
      return run(ajv.getSchema(`${SCHEMAS_ID}#/definitions/${name}`), value, name);
    },
  };
}

function run(validate: ValidateFunction | undefined, value: unknown, where: string): string[] {
  if (!validate || validate(value)) return [];
  return (validate.errors ?? []).map((e) => formatError(where, e));
}

function formatError(where: string, e: ErrorObject): string {
  const params = Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : '';
  return `${where}${e.instancePath || ''} ${e.message ?? e.keyword}${params}`;
}
