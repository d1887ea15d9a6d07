/**
 * Versions a rollback rejected, kept in the cluster next to the release: one ConfigMap
 * `<release>-rejected-versions` (the Role already allows configmaps), so the next push cannot quietly
 * deploy the version that was just rolled back. Rollback writes it; preflight's `rejected` check reads
 * it. A later deploy of another version leaves it as it is: the record is history, not state.
 */
import type * as k8s from '@kubernetes/client-node';
import type { Kube } from './client';
import { isConflict, unlessNotFound } from './errors';

export interface RejectedVersion {
  /** Without a leading `v`: `1.2.0`. */
  version: string;
  reason: string;
  /** ISO-8601 time of the rollback. */
  at: string;
  /** Link to the run that rolled it back. */
  run: string;
  /** What the rollback returned to, e.g. `revision 2 (v1.1.0)`. */
  rolledBackTo?: string;
}

const DATA_KEY = 'versions.json';

export function rejectedConfigMapName(release: string): string {
  return `${release}-rejected-versions`;
}

/** `v1.2.0`, `1.2.0` and ` 1.2.0 ` name the same version. */
export function normalizeVersion(version: string): string {
  return version.trim().replace(/^v(?=\d)/, '');
}

export async function readRejectedVersions(kube: Kube, namespace: string, release: string): Promise<RejectedVersion[]> {
  const map = await readMap(kube, namespace, release);
  return map ? parseEntries(map) : [];
}

export function findRejected(list: readonly RejectedVersion[], version: string): RejectedVersion | undefined {
  const wanted = normalizeVersion(version);
  return list.find((r) => r.version === wanted);
}

/** `1.2.0,1.3.1`: what the `rejected-versions` output carries. */
export function listRejected(list: readonly RejectedVersion[]): string {
  return list.map((r) => r.version).join(',');
}

/**
 * Adds (or, for a version rejected again, replaces) one entry. Read-modify-replace with the
 * resourceVersion, so two writers never lose each other's entries; a 409 reads again.
 */
export async function recordRejectedVersion(
  kube: Kube,
  namespace: string,
  release: string,
  entry: RejectedVersion,
): Promise<RejectedVersion[]> {
  const item = { ...entry, version: normalizeVersion(entry.version) };
  for (let attempt = 0; ; attempt++) {
    const map = await readMap(kube, namespace, release);
    const list = [...(map ? parseEntries(map) : []).filter((r) => r.version !== item.version), item];
    const data = { [DATA_KEY]: JSON.stringify(list, null, 1) };
    try {
      if (map)
        await kube.core.replaceNamespacedConfigMap({ name: map.metadata!.name!, namespace, body: { ...map, data } });
      else await kube.core.createNamespacedConfigMap({ namespace, body: newMap(release, data) });
      return list;
    } catch (error) {
      // 409: someone wrote (or created the map) first; read again and merge.
      if (!isConflict(error) || attempt >= 4) throw error;
    }
  }
}

function readMap(kube: Kube, namespace: string, release: string): Promise<k8s.V1ConfigMap | undefined> {
  return unlessNotFound(kube.core.readNamespacedConfigMap({ name: rejectedConfigMapName(release), namespace }));
}

function newMap(release: string, data: Record<string, string>): k8s.V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: rejectedConfigMapName(release),
      labels: { 'app.kubernetes.io/managed-by': 'veloz-deploy-actions', 'app.kubernetes.io/instance': release },
    },
    data,
  };
}

/** A hand-edited map that no longer parses counts as empty rather than blocking every deploy. */
function parseEntries(map: k8s.V1ConfigMap): RejectedVersion[] {
  try {
    const parsed: unknown = JSON.parse(map.data?.[DATA_KEY] ?? '[]');
    return Array.isArray(parsed)
      ? (parsed as RejectedVersion[]).filter((r) => typeof r?.version === 'string' && r.version !== '')
      : [];
  } catch {
    return [];
  }
}
