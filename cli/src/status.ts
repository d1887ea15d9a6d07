/**
 * `veloz-deploy status`: where each cluster of a release stands, one row per kubeconfig context —
 * the version (image tag) running, the Helm and Deployment revisions, whether a green Deployment is
 * present, and who holds the release Lease until when. Read-only. Each context is read on its own
 * with the client's request deadline, so one unreachable cluster is an error in its row, not a
 * missing table.
 */
import { describeError } from '@veloz/shared/checks';
import { listReleaseRevisions } from '@veloz/shared/helm/history';
import { connectKube, withinScope, type Kube } from '@veloz/shared/kube/client';
import { unlessNotFound } from '@veloz/shared/kube/errors';
import { findGreen, imageOf } from '@veloz/shared/kube/green';
import { leaseName } from '@veloz/shared/kube/lock';
import { redact } from '@veloz/shared/secrets';
import { contextNames, withContext } from './kubeconfig';
import { UsageError } from './flags';
import { columns } from './report-text';

/** A look, not a deploy: a context that has not answered in this long is an error in its row, no retries. */
const CONTEXT_DEADLINE_MS = 10_000;

export interface StatusTarget {
  namespace: string;
  release: string;
  deployment: string;
}

export interface LockState {
  holder: string;
  action?: string;
  runUrl?: string;
  /** renewTime + leaseDurationSeconds, ISO-8601. */
  expiresAt?: string;
  expired: boolean;
}

export interface ClusterStatus {
  context: string;
  version?: string;
  image?: string;
  helmRevision?: number;
  helmStatus?: string;
  deploymentRevision?: string;
  green: boolean;
  lock?: LockState;
  error?: string;
}

export async function readStatuses(
  kubeconfig: string,
  path: string,
  target: StatusTarget,
  only: string | undefined,
  now: number,
): Promise<ClusterStatus[]> {
  const contexts = only ? [only] : contextNames(kubeconfig);
  if (only) withContext(kubeconfig, only, path); // names the contexts there are when it is not one
  if (contexts.length === 0) throw new UsageError(`the kubeconfig ${path} has no contexts`);
  return Promise.all(
    contexts.map(async (context) => {
      try {
        const kube = await connectKube(withContext(kubeconfig, context, path));
        const signal = AbortSignal.timeout(CONTEXT_DEADLINE_MS);
        return { context, ...(await withinScope({ signal, noRetry: true }, () => readCluster(kube, target, now))) };
      } catch (error) {
        return { context, green: false, error: redact(describeError(error)) };
      }
    }),
  );
}

async function readCluster(kube: Kube, t: StatusTarget, now: number): Promise<Omit<ClusterStatus, 'context'>> {
  const [deployment, revisions, green, lease] = await Promise.all([
    unlessNotFound(kube.apps.readNamespacedDeployment({ name: t.deployment, namespace: t.namespace })),
    listReleaseRevisions(kube, t.namespace, t.release),
    findGreen(kube, t.namespace, t.deployment),
    unlessNotFound(kube.coordination.readNamespacedLease({ name: leaseName(t.release), namespace: t.namespace })),
  ]);
  const image = deployment ? imageOf(deployment) : undefined;
  // The newest revision helm has: `deployed` normally, `failed` or `pending-*` when something is wrong.
  const helm = revisions.at(-1);
  const status: Omit<ClusterStatus, 'context'> = { green: green !== undefined };
  if (image) Object.assign(status, { image, version: tagOf(image) });
  if (helm) Object.assign(status, { helmRevision: helm.revision, helmStatus: helm.status });
  const revision = deployment?.metadata?.annotations?.['deployment.kubernetes.io/revision'];
  if (revision) status.deploymentRevision = revision;
  if (!deployment && !helm)
    status.error = `no Deployment ${t.deployment} nor Helm release ${t.release} in ${t.namespace}`;
  if (lease?.spec?.holderIdentity) status.lock = lockOf(lease, now);
  return status;
}

function lockOf(lease: Awaited<ReturnType<Kube['coordination']['readNamespacedLease']>>, now: number): LockState {
  const spec = lease.spec!;
  const renewed = spec.renewTime ?? spec.acquireTime;
  const renewedMs = renewed ? new Date(renewed as unknown as string).getTime() : NaN;
  const expiresMs = renewedMs + (spec.leaseDurationSeconds ?? 0) * 1000;
  const annotations = lease.metadata?.annotations ?? {};
  const lock: LockState = { holder: spec.holderIdentity!, expired: !(expiresMs > now) };
  if (Number.isFinite(expiresMs)) lock.expiresAt = new Date(expiresMs).toISOString();
  if (annotations['veloz.io/action']) lock.action = annotations['veloz.io/action'];
  if (annotations['veloz.io/run-url']) lock.runUrl = annotations['veloz.io/run-url'];
  return lock;
}

/** `registry/veloz-engine:1.2.0` → `1.2.0`; a digest-only reference has no tag. */
function tagOf(image: string): string | undefined {
  const name = image.split('@')[0]!;
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(colon + 1) : undefined;
}

export function renderStatusTable(rows: readonly ClusterStatus[]): string {
  const header = ['Context', 'Version', 'Helm', 'Deployment', 'Green', 'Lock holder', 'Lock expires', 'Error'];
  const body = rows.map((r) => [
    r.context,
    r.version ?? (r.image ? r.image : '-'),
    r.helmRevision === undefined ? '-' : `${r.helmRevision} (${r.helmStatus})`,
    r.deploymentRevision ?? '-',
    r.error && !r.version ? '-' : r.green ? 'yes' : 'no',
    r.lock ? `${r.lock.holder}${r.lock.action ? ` (${r.lock.action})` : ''}` : 'free',
    r.lock ? `${r.lock.expiresAt ?? '?'}${r.lock.expired ? ' (expired)' : ''}` : '-',
    r.error ?? '',
  ]);
  return `${columns([header, ...body]).join('\n')}\n`;
}
