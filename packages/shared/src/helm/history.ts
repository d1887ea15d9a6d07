/**
 * Helm's release history, read where Helm keeps it: Secrets `sh.helm.release.v1.<release>.v<N>`
 * labelled owner=helm,name=<release>,status=…,version=N. Listing gives revisions and statuses from
 * labels alone; only the revisions we need are decoded (base64 of gzipped JSON).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Kube } from '../kube/client';

type ReleaseStatus =
  | 'unknown'
  | 'deployed'
  | 'uninstalled'
  | 'superseded'
  | 'failed'
  | 'uninstalling'
  | 'pending-install'
  | 'pending-upgrade'
  | 'pending-rollback';

export interface ReleaseRevision {
  revision: number;
  status: ReleaseStatus;
  secretName: string;
}

export interface ReleaseDetails extends ReleaseRevision {
  chart: string;
  chartVersion: string;
  appVersion: string;
  description: string;
  updated: string;
  /** The user-supplied values of this revision (what `helm get values` shows). */
  values: Record<string, unknown>;
  /** The rendered manifest of this revision. */
  manifest: string;
  /** How helm applied it: `ssa` (helm 4 server-side apply) or undefined (client-side, helm 3). */
  applyMethod?: string;
}

export async function listReleaseRevisions(kube: Kube, namespace: string, release: string): Promise<ReleaseRevision[]> {
  const list = await kube.core.listNamespacedSecret({ namespace, labelSelector: `owner=helm,name=${release}` });
  return list.items
    .map((s) => ({
      revision: Number(s.metadata?.labels?.version),
      status: (s.metadata?.labels?.status ?? 'unknown') as ReleaseStatus,
      secretName: s.metadata?.name ?? '',
    }))
    .filter((r) => Number.isInteger(r.revision))
    .sort((a, b) => a.revision - b.revision);
}

export async function readReleaseRevision(
  kube: Kube,
  namespace: string,
  revision: ReleaseRevision,
): Promise<ReleaseDetails> {
  const secret = await kube.core.readNamespacedSecret({ name: revision.secretName, namespace });
  const encoded = secret.data?.release;
  if (!encoded) throw new Error(`Helm release secret ${revision.secretName} has no release data`);
  const release = decodeRelease(encoded);
  const info = (release.info ?? {}) as Record<string, string>;
  const metadata = ((release.chart as { metadata?: Record<string, string> })?.metadata ?? {}) as Record<string, string>;
  return {
    ...revision,
    status: (info.status as ReleaseStatus) ?? revision.status,
    chart: metadata.name ?? '',
    chartVersion: metadata.version ?? '',
    appVersion: metadata.appVersion ?? '',
    description: info.description ?? '',
    updated: info.last_deployed ?? '',
    values: (release.config as Record<string, unknown>) ?? {},
    manifest: typeof release.manifest === 'string' ? release.manifest : '',
    applyMethod: typeof release.apply_method === 'string' ? release.apply_method : undefined,
  };
}

/** The first container image of a Deployment in a rendered manifest (what the revision runs). */
export function deploymentImage(manifest: string, deployment: string): string | undefined {
  for (const doc of manifest.split(/^---\s*$/m)) {
    if (!/^kind:\s*Deployment\s*$/m.test(doc)) continue;
    if (!new RegExp(`^  name:\\s*["']?${deployment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}["']?\\s*$`, 'm').test(doc))
      continue;
    const image = /^\s*-?\s*image:\s*["']?([^"'\s]+)["']?\s*$/m.exec(doc)?.[1];
    if (image) return image;
  }
  return undefined;
}

/**
 * A release stuck in pending-* (its helm process was killed) blocks every helm command with
 * "another operation is in progress". Marking that revision failed, as an operator would by hand,
 * lets `helm rollback` proceed; the description says who did it and why.
 */
export async function markRevisionFailed(
  kube: Kube,
  namespace: string,
  revision: ReleaseRevision,
  why: string,
): Promise<void> {
  const secret = await kube.core.readNamespacedSecret({ name: revision.secretName, namespace });
  const release = decodeRelease(secret.data?.release ?? '');
  const info = (release.info ?? {}) as Record<string, unknown>;
  release.info = { ...info, status: 'failed', description: why };
  secret.data = { ...secret.data, release: encodeRelease(release) };
  secret.metadata = { ...secret.metadata, labels: { ...secret.metadata?.labels, status: 'failed' } };
  await kube.core.replaceNamespacedSecret({ name: revision.secretName, namespace, body: secret });
}

function encodeRelease(release: Record<string, unknown>): string {
  const helmEncoded = gzipSync(Buffer.from(JSON.stringify(release))).toString('base64');
  return Buffer.from(helmEncoded).toString('base64');
}

/** The Secret's data is base64 (Kubernetes) of base64 (Helm) of gzip (Helm) of JSON. */
function decodeRelease(secretData: string): Record<string, unknown> {
  let bytes = Buffer.from(Buffer.from(secretData, 'base64').toString('utf8'), 'base64');
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  return JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
}

export const PENDING_STATUSES: ReadonlySet<ReleaseStatus> = new Set([
  'pending-install',
  'pending-upgrade',
  'pending-rollback',
]);

/** Reads a dotted value path (`engine.image.tag`) out of a values tree. */
export function valueAt(values: Record<string, unknown>, path: string): unknown {
  let current: unknown = values;
  for (const key of path.split('.')) {
    if (!current || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
