/**
 * A version a rollback rejected is not deployed again by the next push: it fails the checklist unless
 * `override-reason` says why it is fine now (then a warning, recorded like the window override).
 * Two records are read: the ConfigMap in this cluster, and — with a github-token — the rejections
 * every cluster of the release recorded through GitHub (records/rejections.ts), so a version rolled
 * back in one region is refused in all of them.
 */
import { type Check, type CheckOutcome, defineCheck, describeError } from '@veloz/shared/checks';
import type { Kube } from '@veloz/shared/kube/client';
import {
  findRejected,
  listRejected,
  readRejectedVersions,
  rejectedConfigMapName,
  type RejectedVersion,
} from '@veloz/shared/kube/rejected-versions';
import { githubRejectionsCommand, readGithubRejections, type GithubRejection } from '@veloz/shared/records/rejections';
import type { TargetSettings } from '@veloz/shared/target';
import type { GithubRepo } from './github-repo';

interface RejectedOptions {
  kube: Kube;
  target: TargetSettings;
  version: string;
  overrideReason?: string;
  /** The repository whose `veloz:reject` deployments hold every cluster's rejections. */
  gh?: GithubRepo;
  timeoutMs: number;
}

type Hit = RejectedVersion & Partial<Pick<GithubRejection, 'environment'>>;

export function rejectedCheck(options: RejectedOptions): Check {
  const { namespace, release } = options.target;
  const map = rejectedConfigMapName(release);
  const threshold = options.gh
    ? `not in ConfigMap ${map} nor GitHub's ${release} rejections`
    : `not in ConfigMap ${map}`;
  return defineCheck('rejected', 'Version not rejected by a rollback', options.timeoutMs, async () => {
    const [inCluster, everywhere] = await Promise.all([
      readRejectedVersions(options.kube, namespace, release),
      readEverywhere(options.gh, release),
    ]);
    const all: Hit[] = [...inCluster, ...(everywhere.list ?? [])];
    const data = { rejected: listRejected(unique(all)) };
    const hit: Hit | undefined =
      findRejected(inCluster, options.version) ?? findRejected(everywhere.list ?? [], options.version);
    if (!hit) return unrejected(options.version, all, data, threshold, everywhere.error);
    const where = hit.environment ? ` in ${hit.environment}` : '';
    const why = `${options.version} was rolled back${where} at ${hit.at} (${hit.reason}) by ${hit.run}${hit.rolledBackTo ? `, to ${hit.rolledBackTo}` : ''}.`;
    const override = options.overrideReason?.trim();
    if (override) {
      return {
        status: 'warn',
        observed: `${options.version} rejected, OVERRIDDEN`,
        threshold,
        detail: `Rejected version deployed with override reason "${override}". ${why}`,
        data: { ...data, override },
      };
    }
    const record =
      hit.environment && options.gh
        ? `\`${githubRejectionsCommand(options.gh)}\``
        : `\`kubectl get configmap ${map} -n ${namespace} -o yaml\``;
    return {
      status: 'fail',
      observed: `${options.version} rejected`,
      threshold,
      detail: `${why} Deploy a fixed version, or set override-reason to deploy it anyway (it is recorded in the report). Record: ${record}.`,
      data,
    };
  });
}

/** GitHub's record, or why it could not be read (the in-cluster copy still decides then). */
async function readEverywhere(
  gh: GithubRepo | undefined,
  release: string,
): Promise<{ list?: GithubRejection[]; error?: string }> {
  if (!gh) return {};
  try {
    return { list: await readGithubRejections(gh, release) };
  } catch (error) {
    return { error: describeError(error) };
  }
}

function unrejected(
  version: string,
  all: readonly RejectedVersion[],
  data: { rejected: string },
  threshold: string,
  githubError: string | undefined,
): CheckOutcome & { data: { rejected: string } } {
  const observed = all.length === 0 ? 'no version rejected' : `${version} not among ${data.rejected}`;
  if (githubError === undefined) return { status: 'pass', observed, threshold, data };
  return {
    status: 'warn',
    observed: `${observed} in this cluster; other clusters unknown`,
    threshold,
    detail: `Could not read the rejections other clusters recorded on GitHub: ${githubError}. The token needs \`deployments: read\`.`,
    data,
  };
}

function unique(list: readonly RejectedVersion[]): RejectedVersion[] {
  return list.filter((r, i) => list.findIndex((o) => o.version === r.version) === i);
}
