/**
 * Where a rollback returns by default: the newest good revision, older than the one it leaves, that
 * runs something else. ("Previous" in helm history is often this same bad release's canary revision;
 * returning there would keep the bad version.) Canary reports it as `previous-revision` and rollback
 * goes there when no `to-revision` is named: one rule, so the two cannot drift apart.
 */

interface RevisionCandidate {
  revision: number;
  /** Helm's status of the revision; ReplicaSets have none. */
  status?: string;
}

/** Helm revisions that served: deployed or superseded (failed and pending ones never did). */
function served(candidate: RevisionCandidate): boolean {
  return candidate.status === undefined || candidate.status === 'deployed' || candidate.status === 'superseded';
}

/**
 * The newest candidate of `history` (oldest first) below `before` that served and of which
 * `runsOther` holds; `runsOther` is asked newest first and only as far as needed (it may read).
 */
export async function previousGoodRevision<T extends RevisionCandidate>(
  history: readonly T[],
  runsOther: (candidate: T) => boolean | Promise<boolean>,
  before = Number.POSITIVE_INFINITY,
): Promise<T | undefined> {
  for (let i = history.length - 1; i >= 0; i--) {
    const candidate = history[i]!;
    if (candidate.revision < before && served(candidate) && (await runsOther(candidate))) return candidate;
  }
  return undefined;
}
