/** CHANGELOG.md: one section per release, newest first, listing the commits since the previous release. */
import type { Git } from './git';

export interface Commit {
  sha: string;
  subject: string;
  author: string;
}

export const CHANGELOG_TITLE = '# Changelog';

/** Commits reachable from HEAD and not from `previousTag` (all of them for a first release), oldest first. */
export async function commitsSince(git: Git, previousTag: string | undefined): Promise<Commit[]> {
  const range = previousTag ? [`${previousTag}..HEAD`] : ['HEAD'];
  const text = await git(['log', '--no-merges', '--reverse', '--format=%H%x1f%an%x1f%s%x1e', ...range]);
  return text
    .split('\x1e')
    .map((record) => record.trim())
    .filter(Boolean)
    .map((record) => {
      const [sha = '', author = '', subject = ''] = record.split('\x1f');
      return { sha, author, subject };
    });
}

/** The release notes: also the GitHub release's body. */
export function releaseNotes(commits: Commit[], previousTag: string | undefined): string {
  const since = previousTag ? `Changes since ${previousTag}:` : 'First release:';
  const lines = commits.map((c) => `- ${c.subject} (${c.sha.slice(0, 7)})`);
  return [since, '', ...(lines.length ? lines : ['- No changes to the code (a re-release).'])].join('\n');
}

export function changelogSection(tag: string, date: string, notes: string): string {
  return `## ${tag} — ${date}\n\n${notes}\n`;
}

/** Puts the new section first, under the title; keeps everything already written. */
export function prependSection(existing: string | undefined, section: string): string {
  const body = (existing ?? '').replace(/^# Changelog[^\n]*\n+/, '').trim();
  return `${CHANGELOG_TITLE}\n\n${section}${body ? `\n${body}\n` : ''}`;
}
