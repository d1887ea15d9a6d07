/** Runbook §1.1 "Release notes documented": the version's GitHub release has a body, or a CHANGELOG section. */
import type { Check, CheckOutcome } from '@veloz/shared/checks';
import { readFile } from 'node:fs/promises';
import { githubUnavailable, httpStatusOf, type GithubRepo } from './github-repo';

interface ReleaseNotesOptions {
  version: string;
  gh?: GithubRepo;
  /** A CHANGELOG whose section for the version is the notes (checked instead of the GitHub release). */
  path?: string;
  timeoutMs: number;
}

/** Tags a version may be released under: as given, and with or without the leading v. */
export const tagsOf = (version: string): string[] =>
  /^v\d/i.test(version) ? [version, version.slice(1)] : [version, `v${version}`];

export function releaseNotesCheck(options: ReleaseNotesOptions): Check {
  return {
    name: 'release-notes',
    title: 'Release notes',
    timeoutMs: options.timeoutMs,
    run: () =>
      options.path ? changelogNotes(options.path, options.version) : githubNotes(options.gh!, options.version),
  };
}

async function githubNotes(gh: GithubRepo, version: string): Promise<CheckOutcome> {
  const threshold = 'a release with notes';
  for (const tag of tagsOf(version)) {
    let release;
    try {
      release = (await gh.octokit.rest.repos.getReleaseByTag({ owner: gh.owner, repo: gh.repo, tag })).data;
    } catch (error) {
      if (httpStatusOf(error) === 404) continue;
      return githubUnavailable(`the release ${tag}`, 'contents: read', error);
    }
    const words = (release.body ?? '').trim().split(/\s+/).filter(Boolean).length;
    const data = { tag, url: release.html_url, draft: release.draft };
    if (words === 0) {
      return {
        status: 'fail',
        observed: `release ${tag} has no notes`,
        threshold,
        detail: `The GitHub release ${tag} (${release.html_url}) has an empty description. Write the release notes there, then re-run this job.`,
        data,
      };
    }
    return { status: 'pass', observed: `release ${tag}: ${words} words of notes`, threshold, data };
  }
  return {
    status: 'fail',
    observed: 'no release',
    threshold,
    detail: `No GitHub release is tagged ${tagsOf(version).join(' or ')} in ${gh.owner}/${gh.repo}. Create it with its notes (\`gh release create ${tagsOf(version)[0]} --notes-file …\`), or set release-notes-path to the CHANGELOG.`,
  };
}

async function changelogNotes(path: string, version: string): Promise<CheckOutcome> {
  const threshold = `a non-empty section for ${version} in ${path}`;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return {
      status: 'fail',
      observed: 'no changelog',
      threshold,
      detail: `Could not read release-notes-path ${path}: ${(error as Error).message}. Check out the repository first (actions/checkout) or fix the path.`,
    };
  }
  const section = changelogSection(text, version);
  if (section === undefined) {
    return {
      status: 'fail',
      observed: `no section for ${version}`,
      threshold,
      detail: `${path} has no heading naming ${version} (e.g. "## [${version}] - 2026-02-23"). Add the release notes, then re-run this job.`,
    };
  }
  const words = section.split(/\s+/).filter(Boolean).length;
  if (words === 0) {
    return {
      status: 'fail',
      observed: `empty section for ${version}`,
      threshold,
      detail: `The ${version} section of ${path} is empty: write the notes.`,
    };
  }
  return { status: 'pass', observed: `${path}: ${words} words for ${version}`, threshold };
}

/** The text under the first Markdown heading that names the version (v-prefixed or not), up to the next one. */
export function changelogSection(text: string, version: string): string | undefined {
  const bare = version.replace(/^v/i, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const heading = new RegExp(`^(#{1,6})\\s.*(?<![\\w.])v?${bare}(?![\\w.-])`, 'im');
  const match = heading.exec(text);
  if (!match) return undefined;
  const rest = text.slice(match.index + match[0].length);
  const newline = rest.indexOf('\n');
  const body = newline < 0 ? '' : rest.slice(newline + 1);
  const next = new RegExp(`^#{1,${match[1]!.length}}\\s`, 'm').exec(body);
  return (next ? body.slice(0, next.index) : body).trim();
}
