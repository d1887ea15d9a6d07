/**
 * Runbook §4.4 "only if deployment included database migrations that need reverting", decided from
 * data instead of memory: preflight reads the schema version (the `migration-version-query`) before
 * the deploy and records it on the Deployment; a rollback reads it again and compares.
 */
import type { Kube } from './kube/client';
import { annotate } from './kube/deployment-edits';
import { readOnlyQuery } from './pg-readonly';

/** JSON {version, at, query} on the Deployment: the schema before the deploy that is running now. */
export const PRE_DEPLOY_SCHEMA_ANNOTATION = 'veloz.io/pre-deploy-schema';

export interface SchemaRecord {
  /** First column of the first row, as text; `none` when the query returned no row or NULL. */
  version: string;
  /** ISO-8601 time the version was read: the point-in-time recovery target. */
  at: string;
  query: string;
}

export async function readSchemaVersion(url: string, query: string, signal?: AbortSignal): Promise<string> {
  const rows = await readOnlyQuery({ url, sql: query, signal });
  const first = rows[0] ? Object.values(rows[0])[0] : undefined;
  if (first === undefined || first === null) return 'none';
  return first instanceof Date ? first.toISOString() : String(first);
}

export async function recordSchemaVersion(
  kube: Kube,
  namespace: string,
  deployment: string,
  record: SchemaRecord,
): Promise<void> {
  await annotate(kube, namespace, deployment, { [PRE_DEPLOY_SCHEMA_ANNOTATION]: JSON.stringify(record) });
}

export function schemaRecordOf(annotations: Record<string, string> | undefined): SchemaRecord | undefined {
  const text = annotations?.[PRE_DEPLOY_SCHEMA_ANNOTATION];
  if (!text) return undefined;
  try {
    const parsed = JSON.parse(text) as Partial<SchemaRecord>;
    if (typeof parsed.version !== 'string' || typeof parsed.at !== 'string' || Number.isNaN(Date.parse(parsed.at)))
      return undefined;
    return { version: parsed.version, at: parsed.at, query: String(parsed.query ?? '') };
  } catch {
    return undefined;
  }
}
