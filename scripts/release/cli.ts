/** The release command line: arguments and environment in, steps run, a summary out (see ../release.ts). */
import { parseArgs } from 'node:util';
import { githubReleases } from './github';
import { gitIn } from './git';
import { release, undoCommand, type ReleaseResult } from './release';
import { parseVersion } from './version';

const USAGE = 'usage: npm run release -- <X.Y.Z> [--dry-run] [--remote origin] [--repository owner/name]';

/** owner/name from a GitHub remote URL (https://github.com/o/n.git, git@github.com:o/n.git). */
export function repositoryFromUrl(url: string): string | undefined {
  return /[/:]([\w.-]+\/[\w.-]+?)(?:\.git)?\/?$/.exec(url.trim())?.[1];
}

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'dry-run': { type: 'boolean', default: false },
      remote: { type: 'string', default: 'origin' },
      repository: { type: 'string' },
    },
  });
  const version = positionals.length === 1 ? parseVersion(positionals[0]!) : undefined;
  if (!version) {
    console.error(`version ${JSON.stringify(positionals.join(' '))} is not X.Y.Z (e.g. 1.4.0)\n${USAGE}`);
    return 2;
  }
  const root = await gitIn(process.cwd())(['rev-parse', '--show-toplevel']);
  const dryRun = values['dry-run'];
  const remote = values.remote;
  let github;
  if (!dryRun) {
    const token = env.GITHUB_TOKEN || env.GH_TOKEN;
    const remoteUrl = await gitIn(root)(['remote', 'get-url', remote]).catch(() => '');
    const repository = values.repository || env.GITHUB_REPOSITORY || repositoryFromUrl(remoteUrl);
    if (!token || !repository) {
      console.error(
        `${token ? '' : 'GITHUB_TOKEN is not set (a token with contents and workflows write). '}` +
          `${repository ? '' : `no owner/name: pass --repository (remote ${remote} is ${remoteUrl || 'not set'}). `}` +
          `Or rehearse with --dry-run.`,
      );
      return 2;
    }
    github = githubReleases(token, repository, env.GITHUB_API_URL || 'https://api.github.com');
  }

  const result = await release({ root, version, dryRun, remote, github, log: (line) => console.log(line) });
  console.log(summary(result, dryRun, remote));
  return 0;
}

export function summary(result: ReleaseResult, dryRun: boolean, remote: string): string {
  const lines = [
    '',
    `${result.tag}: actions at ${result.actionsCommit}, tagged commit ${result.releaseCommit}`,
    ...result.pinned.map(
      (p) => `  ${p.path}: ${[...new Set(p.actions)].join(', ')} pinned to ${result.actionsCommit.slice(0, 12)}`,
    ),
    '',
    result.notes,
    '',
  ];
  if (!dryRun) {
    lines.push(`Pushed ${result.branch}, ${result.tag} and ${result.majorTag} to ${remote}.`);
    lines.push(`Release: ${result.release?.url} (immutable)`);
    return lines.join('\n');
  }
  lines.push('Dry run: nothing left this machine. It would run:', `  git ${result.push.join(' ')}`);
  lines.push(
    `  POST /repos/{owner}/{repo}/releases ${JSON.stringify({ tag_name: result.tag, target_commitish: result.releaseCommit, name: result.tag, draft: false, make_latest: 'true' })}`,
  );
  lines.push('To undo the local commits and tags:', `  ${undoCommand(result)}`);
  return lines.join('\n');
}
