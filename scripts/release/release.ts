/**
 * A release as named steps, each small: from a clean, built branch to a tagged release commit whose
 * reusable workflows are pinned to the release's own actions.
 *
 *   main ── A "Release vX.Y.Z" (CHANGELOG.md)                  ← pushed to the branch
 *            └─ B "Release vX.Y.Z: pin …@<A>" (workflows only)  ← tagged vX.Y.Z and vX, not on the branch
 *
 * A holds the release's actions (action.yml + dist/); B differs from A only in .github/workflows, so a
 * caller of deploy.yml@vX.Y.Z (or @<B>) runs the actions of A whatever vX points to later, and the
 * branch keeps calling @vX for development. A dry run makes A, B and the tags locally and prints what
 * it would push and create.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { changelogSection, commitsSince, prependSection, releaseNotes } from './changelog';
import type { GithubReleases, CreatedRelease } from './github';
import { runCommand } from '@veloz/shared/command';
import { gitIn, PUSH_TIMEOUT_MS, type Git } from './git';
import { pinWorkflows, type PinnedFile } from './pin';
import { releaseTags, compareVersions, type Version } from './version';

export const BUNDLE_COMMAND = ['npm', 'run', 'bundle'];
export const BUNDLE_TIMEOUT_MS = 15 * 60_000;

export interface ReleaseOptions {
  root: string;
  version: Version;
  dryRun: boolean;
  remote: string;
  /** Required unless dryRun. */
  github?: GithubReleases;
  log: (line: string) => void;
  now?: () => Date;
  bundleCommand?: string[];
}

export interface ReleaseResult {
  tag: string;
  majorTag: string;
  previousTag?: string;
  branch: string;
  /** Where the branch was before the release. */
  startCommit: string;
  /** A: the changelog commit on the branch, where the released actions live. */
  actionsCommit: string;
  /** B: the tagged commit whose workflows pin A. */
  releaseCommit: string;
  /** Where the major tag pointed before ('' when new): the push's lease, and a dry run's undo. */
  previousMajor: string;
  pinned: PinnedFile[];
  notes: string;
  /** The push, as git argv. */
  push: string[];
  release?: CreatedRelease;
}

export class ReleaseRefused extends Error {}

interface State {
  git: Git;
  options: ReleaseOptions;
  branch: string;
  startCommit: string;
  previousTag?: string;
  /** Where the remote's (dry run: the local) major tag pointed before; '' when it did not exist. */
  previousMajor: string;
}

export async function release(options: ReleaseOptions): Promise<ReleaseResult> {
  const git = gitIn(options.root);
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    options.log(`▸ ${name}`);
    return fn();
  };
  const state = await step('working tree is clean, on a branch', () => startingPoint(git, options));
  if (!options.dryRun) await step(`tags fetched from ${options.remote}`, () => fetchTags(state));
  await step(`${options.version.tag} is newer than every release`, () => checkVersion(state));
  if (options.github) await step('GitHub: releases are immutable, none yet for this tag', () => checkGithub(state));
  await step('dist/ is what a fresh build makes', () => checkBundleFresh(state));
  const notes = await step('CHANGELOG.md written and committed', () => commitChangelog(state));
  const actionsCommit = await git(['rev-parse', 'HEAD']);
  const { releaseCommit, pinned } = await step(`workflows pinned to ${actionsCommit.slice(0, 12)}`, () =>
    commitPins(state, actionsCommit),
  );
  await step(`tagged ${options.version.tag}, moved ${options.version.majorTag}`, () => tag(state, releaseCommit));
  const push = pushArgs(state, actionsCommit);
  const result: ReleaseResult = {
    tag: options.version.tag,
    majorTag: options.version.majorTag,
    previousTag: state.previousTag,
    branch: state.branch,
    startCommit: state.startCommit,
    actionsCommit,
    releaseCommit,
    previousMajor: state.previousMajor,
    pinned,
    notes,
    push,
  };
  if (options.dryRun) return result;
  await step(`pushed to ${options.remote}`, () =>
    git(push, { timeoutMs: PUSH_TIMEOUT_MS }).catch((error: unknown) => {
      throw new Error(
        `${message(error)}\nThe push is atomic: nothing was pushed. Undo locally: ${undoCommand(result)}`,
      );
    }),
  );
  result.release = await step('GitHub release created', () =>
    createRelease(state, result).catch((error: unknown) => {
      throw new Error(
        `${result.tag} is pushed but has no release: ${message(error)}\nCreate it by hand: ` +
          `gh release create ${result.tag} --verify-tag --title ${result.tag} --notes-file notes.md ` +
          `(notes.md: the ${result.tag} section of CHANGELOG.md), then turn on release immutability if it was off.`,
      );
    }),
  );
  return result;
}

/** Puts the local clone back as it was before a dry run (or a refused push). */
export function undoCommand(result: ReleaseResult): string {
  const major = result.previousMajor
    ? `git tag -f ${result.majorTag} ${result.previousMajor}`
    : `git tag -d ${result.majorTag}`;
  return `git reset --hard ${result.startCommit} && git tag -d ${result.tag} && ${major}`;
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

async function startingPoint(git: Git, options: ReleaseOptions): Promise<State> {
  const dirty = await git(['status', '--porcelain']);
  if (dirty) throw new ReleaseRefused(`uncommitted changes in ${options.root}:\n${dirty}\nCommit or stash them first.`);
  const branch = await git(['symbolic-ref', '--quiet', '--short', 'HEAD']).catch(() => '');
  if (!branch) throw new ReleaseRefused('HEAD is detached: check out the branch to release (git switch main).');
  const startCommit = await git(['rev-parse', 'HEAD']);
  return { git, options, branch, startCommit, previousMajor: '' };
}

async function fetchTags({ git, options }: State): Promise<void> {
  // --force: the remote's moving major tag wins over a stale local one
  await git(['fetch', '--force', '--tags', options.remote], { timeoutMs: PUSH_TIMEOUT_MS });
}

async function checkVersion(state: State): Promise<void> {
  const { git, options } = state;
  const { tag, majorTag } = options.version;
  const releases = releaseTags((await git(['tag', '--list', 'v*'])).split('\n').filter(Boolean));
  if (releases.some((r) => r.tag === tag)) throw new ReleaseRefused(`${tag} exists already: pick the next version.`);
  const newest = releases[0];
  if (newest && compareVersions(options.version, newest) < 0) {
    throw new ReleaseRefused(`${tag} is older than the newest release ${newest.tag}: pick a version after it.`);
  }
  state.previousTag = newest?.tag;
  state.previousMajor = options.dryRun
    ? await git(['rev-parse', '--verify', '--quiet', `refs/tags/${majorTag}^{commit}`]).catch(() => '')
    : ((await git(['ls-remote', '--tags', options.remote, `refs/tags/${majorTag}`])).split(/\s/)[0] ?? '');
}

async function checkGithub({ options }: State): Promise<void> {
  await options.github!.requireImmutableReleases();
  await options.github!.requireNoRelease(options.version.tag);
}

async function checkBundleFresh({ git, options }: State): Promise<void> {
  const argv = options.bundleCommand ?? BUNDLE_COMMAND;
  const build = await runCommand(argv, { cwd: options.root, timeoutMs: BUNDLE_TIMEOUT_MS, maxLines: 40 });
  if (!build.ok) {
    throw new ReleaseRefused(`${argv.join(' ')} failed (${build.error}):\n${build.lines.join('\n')}`);
  }
  const changed = await git(['status', '--porcelain', '--', 'dist']);
  if (changed) {
    throw new ReleaseRefused(
      `dist/ differs from a fresh build (${changed.split('\n').length} file(s)):\n${changed}\n` +
        `Commit the rebuilt bundle (git add dist && git commit -m "Rebuild dist"), then release again.`,
    );
  }
}

async function commitChangelog({ git, options, previousTag }: State): Promise<string> {
  const notes = releaseNotes(await commitsSince(git, previousTag), previousTag);
  const date = (options.now?.() ?? new Date()).toISOString().slice(0, 10);
  const path = join(options.root, 'CHANGELOG.md');
  const existing = await readFile(path, 'utf8').catch(() => undefined);
  await writeFile(path, prependSection(existing, changelogSection(options.version.tag, date, notes)));
  await git(['add', 'CHANGELOG.md']);
  await git(['commit', '--quiet', '-m', `Release ${options.version.tag}`]);
  return notes;
}

async function commitPins(
  { git, options, branch }: State,
  actionsCommit: string,
): Promise<{ releaseCommit: string; pinned: PinnedFile[] }> {
  const { tag } = options.version;
  await git(['switch', '--quiet', '--detach']);
  try {
    const pinned = await pinWorkflows(options.root, actionsCommit, tag);
    if (pinned.length === 0) throw new ReleaseRefused('no workflow under .github/workflows uses veloz/deploy-actions');
    await git(['add', '--', ...pinned.map((p) => p.path)]);
    const message = `Release ${tag}: pin the reusable workflows to the release's actions (${actionsCommit})`;
    await git(['commit', '--quiet', '-m', message]);
    return { releaseCommit: await git(['rev-parse', 'HEAD']), pinned };
  } finally {
    await git(['switch', '--quiet', '--force', branch]);
  }
}

async function tag({ git, options }: State, releaseCommit: string): Promise<void> {
  const { tag, majorTag } = options.version;
  await git(['tag', '--annotate', '--message', `Release ${tag}`, tag, releaseCommit]);
  await git(['tag', '--force', majorTag, releaseCommit]);
}

/** One atomic push: the branch, the new tag, and the major tag only if nobody moved it meanwhile. */
function pushArgs({ options, branch, previousMajor }: State, actionsCommit: string): string[] {
  const { tag, majorTag } = options.version;
  return [
    'push',
    '--atomic',
    '--porcelain',
    `--force-with-lease=refs/tags/${tag}:`,
    `--force-with-lease=refs/tags/${majorTag}:${previousMajor}`,
    options.remote,
    `${actionsCommit}:refs/heads/${branch}`,
    `refs/tags/${tag}:refs/tags/${tag}`,
    `refs/tags/${majorTag}:refs/tags/${majorTag}`,
  ];
}

async function createRelease({ options }: State, result: ReleaseResult): Promise<CreatedRelease> {
  const created = await options.github!.create({
    tag: result.tag,
    sha: result.releaseCommit,
    name: result.tag,
    body: result.notes,
  });
  if (!created.immutable) {
    throw new Error(`GitHub created ${created.url} but not as immutable: check the repository's release settings.`);
  }
  return created;
}
