/** Release versions: `X.Y.Z` (a leading `v` is accepted), their tags, and their order. */

export interface Version {
  major: number;
  minor: number;
  patch: number;
  /** `v1.2.3` */
  tag: string;
  /** `v1`: the moving tag callers use (`veloz/deploy-actions/canary@v1`). */
  majorTag: string;
}

const VERSION = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

export function parseVersion(text: string): Version | undefined {
  const match = VERSION.exec(text.trim());
  if (!match) return undefined;
  const [major, minor, patch] = match.slice(1).map(Number) as [number, number, number];
  return { major, minor, patch, tag: `v${major}.${minor}.${patch}`, majorTag: `v${major}` };
}

export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** The release tags among `tags`, newest first (`v1`, `latest` and other names are not releases). */
export function releaseTags(tags: string[]): Version[] {
  return tags
    .filter((t) => t.startsWith('v'))
    .map(parseVersion)
    .filter((v): v is Version => v !== undefined)
    .sort((a, b) => compareVersions(b, a));
}
