/** Request bodies in and JSON responses out, with the API server's own limits and error answers. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest, unsupportedMediaType } from './errors';
import { decodeKubernetesProtobuf } from './protobuf';
import { PATCH_CONTENT_TYPES, type PatchType } from './registry';
import { isPlainObject, readLimitedBody, type JsonObject, type KubeObject } from '../util';

const MAX_BODY = 16 * 1024 * 1024;

export function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-cache, private',
  });
  res.end(text);
}

export function patchType(contentType: string | undefined): PatchType {
  const base = (contentType ?? '').split(';')[0]?.trim() ?? '';
  const t = PATCH_CONTENT_TYPES[base];
  if (!t || base === 'application/apply-patch+cbor')
    throw unsupportedMediaType(
      base,
      Object.keys(PATCH_CONTENT_TYPES).filter((k) => !k.endsWith('cbor')),
    );
  return t;
}

function readRaw(req: IncomingMessage): Promise<Buffer> {
  return readLimitedBody(req, MAX_BODY, () => new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large'));
}

export async function readBody(req: IncomingMessage, yamlAllowed: boolean): Promise<unknown> {
  const ct = (req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
  if (ct === 'application/vnd.kubernetes.protobuf') return decodeKubernetesProtobuf(await readRaw(req), ct);
  if (ct.includes('protobuf') || ct.includes('cbor'))
    throw unsupportedMediaType(ct, ['application/json', 'application/yaml']);
  const raw = (await readRaw(req)).toString('utf8');
  if (!raw.trim()) throw badRequest('the request body is empty');
  try {
    return yamlAllowed || ct === 'application/yaml' ? parseYaml(raw) : JSON.parse(raw);
  } catch (err) {
    throw badRequest(`the request body could not be decoded: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export async function readObject(req: IncomingMessage): Promise<KubeObject> {
  const body = await readBody(req, false);
  if (!isPlainObject(body)) throw badRequest('the request body must be a JSON object');
  return body as KubeObject;
}

export async function readOptionalObject(req: IncomingMessage): Promise<JsonObject | undefined> {
  const ct = (req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
  const buf = await readRaw(req);
  if (ct === 'application/vnd.kubernetes.protobuf' && buf.length > 0) return decodeKubernetesProtobuf(buf, ct);
  const raw = buf.toString('utf8');
  if (!raw.trim()) return undefined;
  try {
    const v: unknown = JSON.parse(raw);
    return isPlainObject(v) ? v : undefined;
  } catch {
    throw badRequest('the DeleteOptions body could not be decoded');
  }
}
