/**
 * A throw-away git repository shaped like this one for release tests: the real reusable workflows and
 * action metadata copied in, and a tiny deterministic `npm run bundle` (src/ → dist/) so a stale
 * bundle can be made on purpose without paying for ncc.
 */
import { REPO_ROOT } from '@veloz/harness';
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ACTIONS = ['preflight', 'canary', 'validate', 'rollback'];
const COPIED = ['.github/workflows/deploy.yml', '.github/workflows/rollback.yml', '.github/workflows/ci.yml'];

// It also leaves the environment it ran with beside the work tree (bundle-env.json), for the test
// that the release's token never reaches the build.
const BUILD = `import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
mkdirSync('dist', { recursive: true });
writeFileSync('dist/index.js', 'export const source = ' + JSON.stringify(readFileSync('src/main.txt', 'utf8')) + ';\\n');
writeFileSync('../bundle-env.json', JSON.stringify(process.env));
`;

export interface CommandOutput {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<CommandOutput> {
  // The test's own GITHUB_* / INPUT_* must not leak in; git needs an identity and no user config.
  const base = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? tmpdir(),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: 'Release Test',
    GIT_AUTHOR_EMAIL: 'release@example.invalid',
    GIT_COMMITTER_NAME: 'Release Test',
    GIT_COMMITTER_EMAIL: 'release@example.invalid',
  };
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env: { ...base, ...env }, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

export interface FixtureRepo {
  dir: string;
  root: string;
  git(...args: string[]): Promise<string>;
  /** Writes a file and commits it. */
  commit(path: string, content: string, message: string): Promise<string>;
  /** `npm run release -- <args>` from the repository root, through this checkout's script. */
  release(args: string[], env?: Record<string, string>): Promise<CommandOutput>;
  /** A bare repository as `origin`, with main pushed. */
  addBareRemote(): Promise<string>;
  remove(): Promise<void>;
}

export async function createFixtureRepo(): Promise<FixtureRepo> {
  const dir = await mkdtemp(join(tmpdir(), 'release-test-'));
  const root = join(dir, 'work');
  await mkdir(join(root, 'src'), { recursive: true });
  for (const path of COPIED) await cp(join(REPO_ROOT, path), join(root, path));
  for (const action of ACTIONS) await cp(join(REPO_ROOT, action, 'action.yml'), join(root, action, 'action.yml'));
  await writeFile(join(root, 'build.mjs'), BUILD);
  await writeFile(join(root, 'src', 'main.txt'), 'first\n');
  const manifest = { name: 'fixture', private: true, type: 'module', scripts: { bundle: 'node build.mjs' } };
  await writeFile(join(root, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  const git = async (...args: string[]): Promise<string> => {
    const result = await run('git', args, root);
    if (result.code !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
    return result.stdout.trim();
  };
  await git('init', '--quiet', '--initial-branch=main');
  await git('config', 'commit.gpgsign', 'false');
  await git('config', 'tag.gpgsign', 'false');
  const build = await run('npm', ['run', 'bundle'], root);
  if (build.code !== 0) throw new Error(`fixture bundle: ${build.stderr}`);
  await git('add', '-A');
  await git('commit', '--quiet', '-m', 'Initial import');

  return {
    dir,
    root,
    git,
    async commit(path, content, message) {
      await writeFile(join(root, path), content);
      await git('add', '-A');
      await git('commit', '--quiet', '-m', message);
      return git('rev-parse', 'HEAD');
    },
    release: (args, env = {}) =>
      run(
        join(REPO_ROOT, 'node_modules', '.bin', 'tsx'),
        [join(REPO_ROOT, 'scripts', 'release.ts'), ...args],
        root,
        env,
      ),
    async addBareRemote() {
      const bare = join(dir, 'remote.git');
      await run('git', ['init', '--quiet', '--bare', '--initial-branch=main', bare], dir);
      await git('remote', 'add', 'origin', bare);
      await git('push', '--quiet', 'origin', 'main');
      return bare;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
