/**
 * `npm run release`: a dry run in a temporary git repository (the tag, the SHA-pinned workflows, the
 * CHANGELOG notes, the moved major tag), the refusals that must leave everything as it was, and a
 * real run against a bare remote and the GitHub REST double (validated by GitHub's OpenAPI description).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { githubReleases } from '../../scripts/release/github';
import { startGithubDouble, type GithubDouble } from '../support/github-double';
import { createFixtureRepo, run, type FixtureRepo } from './fixture-repo';

const SHA = /^[0-9a-f]{40}$/;
const TOKEN = 'ghs_release-test-token';

type Workflow = { jobs: Record<string, { steps?: { uses?: string }[] }> };

/** Every `uses:` of our actions in a workflow, as it stands in `commit`. */
async function ownActionUses(repo: FixtureRepo, commit: string, path: string): Promise<string[]> {
  const workflow = parseYaml(await repo.git('show', `${commit}:${path}`)) as Workflow;
  return Object.values(workflow.jobs)
    .flatMap((job) => job.steps ?? [])
    .map((step) => step.uses ?? '')
    .filter((uses) => uses.startsWith('veloz/deploy-actions/'));
}

async function refs(repo: FixtureRepo, where?: string): Promise<Record<string, string>> {
  const text = where
    ? (await run('git', ['for-each-ref', '--format=%(refname) %(objectname) %(*objectname)'], where)).stdout
    : await repo.git('for-each-ref', '--format=%(refname) %(objectname) %(*objectname)');
  // an annotated tag maps to the commit it points at
  return Object.fromEntries(
    text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [name = '', object = '', peeled] = line.split(' ');
        return [name, peeled || object];
      }),
  );
}

describe('npm run release -- X.Y.Z --dry-run', () => {
  let repo: FixtureRepo;
  beforeAll(async () => {
    repo = await createFixtureRepo();
  });
  afterAll(() => repo.remove());

  test('a first release: tag, pinned workflows, CHANGELOG, v1', async () => {
    const start = await repo.git('rev-parse', 'HEAD');
    const result = await repo.release(['1.0.0', '--dry-run']);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });

    const actions = await repo.git('rev-parse', 'main');
    const released = await repo.git('rev-parse', 'v1.0.0^{commit}');
    expect(await repo.git('rev-parse', 'HEAD~1')).toBe(start);
    expect(await repo.git('rev-parse', `${released}~1`)).toBe(actions); // B sits on A
    expect(await repo.git('rev-parse', 'v1')).toBe(released);
    expect(await repo.git('cat-file', '-t', 'v1.0.0')).toBe('tag'); // annotated
    expect(await repo.git('symbolic-ref', '--short', 'HEAD')).toBe('main');
    expect(await repo.git('status', '--porcelain')).toBe('');

    const changelog = await repo.git('show', 'main:CHANGELOG.md');
    expect(changelog).toMatch(
      /^# Changelog\n\n## v1\.0\.0 — \d{4}-\d{2}-\d{2}\n\nFirst release:\n\n- Initial import \([0-9a-f]{7}\)/,
    );
    expect(result.stdout).toContain('Dry run: nothing left this machine');
    expect(result.stdout).toContain(`git push --atomic`);
    expect(result.stdout).toContain(`"target_commitish":"${released}"`);
  });

  test('the next release: notes since v1.0.0 only, workflows pinned to its own actions, v1 moved', async () => {
    const previous = await repo.git('rev-parse', 'v1');
    const first = await repo.commit('src/main.txt', 'second\n', 'Canary: watch the new ReplicaSet only');
    await run('npm', ['run', 'bundle'], repo.root);
    await repo.git('commit', '--quiet', '-am', 'Rebuild dist');
    const result = await repo.release(['v1.1.0', '--dry-run']);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });

    const actions = await repo.git('rev-parse', 'main');
    const released = await repo.git('rev-parse', 'v1.1.0^{commit}');
    expect(await repo.git('rev-parse', 'v1')).toBe(released);
    expect(released).not.toBe(previous);
    expect(actions).toMatch(SHA);

    // the tagged commit differs from the actions' commit only in the pinned workflows
    expect((await repo.git('diff', '--name-only', actions, released)).split('\n').sort()).toEqual([
      '.github/workflows/deploy.yml',
      '.github/workflows/rollback.yml',
    ]);
    for (const path of ['.github/workflows/deploy.yml', '.github/workflows/rollback.yml']) {
      const uses = await ownActionUses(repo, released, path);
      expect(uses.length).toBeGreaterThan(0);
      for (const u of uses)
        expect(u).toMatch(new RegExp(`^veloz/deploy-actions/(preflight|canary|validate|rollback)@${actions}$`));
      // the branch keeps calling @v1
      for (const u of await ownActionUses(repo, 'main', path)) expect(u).toMatch(/@v1$/);
    }
    const pinnedText = await repo.git('show', `${released}:.github/workflows/deploy.yml`);
    expect(pinnedText).toContain(`veloz/deploy-actions/canary@${actions} # v1.1.0`);
    // ci.yml does not use our actions: untouched
    expect(await repo.git('diff', actions, released, '--', '.github/workflows/ci.yml')).toBe('');

    const changelog = await readFile(join(repo.root, 'CHANGELOG.md'), 'utf8');
    const [newest = '', older = ''] = changelog.split(/\n(?=## )/).slice(1);
    expect(newest).toMatch(/^## v1\.1\.0 — /);
    expect(newest).toContain('Changes since v1.0.0:');
    expect(newest).toContain(`- Canary: watch the new ReplicaSet only (${first.slice(0, 7)})`);
    expect(newest).toContain('- Rebuild dist');
    expect(newest).not.toContain('Initial import');
    expect(newest).not.toContain('Release v1.0.0');
    expect(older).toMatch(/^## v1\.0\.0 — /);
    expect(result.stdout).toContain(`git tag -f v1 ${previous}`); // the undo
  });

  test('refuses a stale bundle, leaving branch, tags and files as they were', async () => {
    await repo.commit('src/main.txt', 'third\n', 'Validate: a change nobody bundled');
    const before = { refs: await refs(repo), head: await repo.git('rev-parse', 'HEAD') };
    const result = await repo.release(['1.2.0', '--dry-run']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('dist/ differs from a fresh build');
    expect(result.stderr).toContain('git add dist && git commit');
    expect(await refs(repo)).toEqual(before.refs);
    expect(await repo.git('rev-parse', 'HEAD')).toBe(before.head);
    await repo.git('commit', '--quiet', '-am', 'Rebuild dist');
  });

  test.each([
    ['an existing version', ['1.1.0', '--dry-run'], 'v1.1.0 exists already'],
    ['an older version', ['1.0.5', '--dry-run'], 'older than the newest release v1.1.0'],
    ['no version', ['--dry-run'], 'is not X.Y.Z'],
    ['a malformed version', ['1.2', '--dry-run'], '"1.2" is not X.Y.Z'],
  ])('refuses %s and changes nothing', async (_name, args, message) => {
    const before = await refs(repo);
    const result = await repo.release(args);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(message);
    expect(await refs(repo)).toEqual(before);
  });

  test("the token and git's credential configuration never reach the bundle build", async () => {
    const env = {
      GH_TOKEN: TOKEN,
      GITHUB_TOKEN: TOKEN,
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.https://github.com/.extraheader',
      GIT_CONFIG_VALUE_0: `AUTHORIZATION: basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`,
    };
    await rm(join(repo.dir, 'bundle-env.json'), { force: true });
    const start = await repo.git('rev-parse', 'HEAD');
    const result = await repo.release(['9.0.0', '--dry-run'], env);
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
    const seen = JSON.parse(await readFile(join(repo.dir, 'bundle-env.json'), 'utf8')) as Record<string, string>;
    expect(seen.npm_lifecycle_event).toBe('bundle'); // it is the build's environment
    expect(Object.keys(seen).filter((k) => k in env)).toEqual([]);
    expect(Object.values(seen).filter((v) => v.includes(TOKEN) || v.includes(env.GIT_CONFIG_VALUE_0))).toEqual([]);
    await repo.git('reset', '--hard', start);
    await repo.git('tag', '-d', 'v9.0.0', 'v9');
  });

  test('refuses uncommitted changes', async () => {
    await run('sh', ['-c', 'echo local >> src/main.txt'], repo.root);
    const result = await repo.release(['1.2.0', '--dry-run']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('uncommitted changes');
    await repo.git('checkout', '--', 'src/main.txt');
  });
});

describe('npm run release -- X.Y.Z against a remote and the GitHub API', () => {
  let github: GithubDouble;
  let repo: FixtureRepo;
  afterEach(async () => {
    await github?.stop();
    await repo?.remove();
  });
  const env = (api: GithubDouble): Record<string, string> => ({ GITHUB_TOKEN: TOKEN, GITHUB_API_URL: api.url });

  test('pushes branch and tags atomically and creates an immutable release on the tag', async () => {
    github = await startGithubDouble({ token: TOKEN, repository: 'veloz/deploy-actions', immutableReleases: true });
    repo = await createFixtureRepo();
    const bare = await repo.addBareRemote();

    const first = await repo.release(['1.0.0', '--repository', 'veloz/deploy-actions'], env(github));
    expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: '' });
    await repo.commit('src/main.txt', 'fixed\n', 'Rollback: pick the last good revision');
    await run('npm', ['run', 'bundle'], repo.root);
    await repo.git('commit', '--quiet', '-am', 'Rebuild dist');
    const second = await repo.release(['1.0.1', '--repository', 'veloz/deploy-actions'], env(github));
    expect({ code: second.code, stderr: second.stderr }).toEqual({ code: 0, stderr: '' });

    const remote = await refs(repo, bare);
    const released = await repo.git('rev-parse', 'v1.0.1^{commit}');
    expect(remote['refs/heads/main']).toBe(await repo.git('rev-parse', 'main'));
    expect(remote['refs/heads/main']).toBe(await repo.git('rev-parse', `${released}~1`));
    expect(remote['refs/tags/v1.0.1']).toBe(released);
    expect(remote['refs/tags/v1']).toBe(released); // moved from v1.0.0's commit
    expect(remote['refs/tags/v1.0.0']).toBe(await repo.git('rev-parse', 'v1.0.0^{commit}'));

    expect(github.violations).toEqual([]);
    const releases = github.releases();
    expect(releases.map((r) => [r.tag_name, r.target_commitish, r.immutable, r.draft])).toEqual([
      ['v1.0.0', remote['refs/tags/v1.0.0'], true, false],
      ['v1.0.1', released, true, false],
    ]);
    expect(releases[1]!.body).toContain('Changes since v1.0.0:');
    expect(releases[1]!.body).toContain('- Rollback: pick the last good revision');
    expect(github.requests.every((r) => r.authScheme !== undefined)).toBe(true);
    expect(second.stdout).toContain(`Release: ${releases[1]!.html_url} (immutable)`);
    expect(`${first.stdout}${second.stdout}`).not.toContain(TOKEN);
  });

  test('a push the remote refuses (main moved meanwhile) pushes nothing: no tag, no release', async () => {
    github = await startGithubDouble({ token: TOKEN, repository: 'veloz/deploy-actions', immutableReleases: true });
    repo = await createFixtureRepo();
    const bare = await repo.addBareRemote();
    const other = join(repo.dir, 'other');
    await run('git', ['clone', '--quiet', bare, other], repo.dir);
    await run('git', ['commit', '--quiet', '--allow-empty', '-m', 'Someone else'], other);
    expect((await run('git', ['push', '--quiet', 'origin', 'main'], other)).code).toBe(0);
    const before = await refs(repo, bare);

    const result = await repo.release(['1.0.0', '--repository', 'veloz/deploy-actions'], env(github));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('The push is atomic: nothing was pushed. Undo locally: git reset --hard');
    expect(await refs(repo, bare)).toEqual(before);
    expect(github.releases()).toEqual([]);
  });

  test('refuses before pushing anything when the repository does not make releases immutable', async () => {
    github = await startGithubDouble({ token: TOKEN, repository: 'veloz/deploy-actions', immutableReleases: false });
    repo = await createFixtureRepo();
    const bare = await repo.addBareRemote();
    const before = { remote: await refs(repo, bare), local: await refs(repo) };

    const result = await repo.release(['1.0.0', '--repository', 'veloz/deploy-actions'], env(github));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('does not make releases immutable');
    expect(result.stderr).toContain('gh api -X PUT repos/veloz/deploy-actions/immutable-releases');
    expect(await refs(repo, bare)).toEqual(before.remote);
    expect(await refs(repo)).toEqual(before.local);
    expect(github.releases()).toEqual([]);
    expect(github.violations).toEqual([]);
  });
});

describe('the GitHub calls on their own', () => {
  let github: GithubDouble;
  afterEach(() => github.stop());

  test('an existing release for the tag is refused: an immutable release cannot be replaced', async () => {
    github = await startGithubDouble({ token: TOKEN, repository: 'veloz/deploy-actions', immutableReleases: true });
    const api = githubReleases(TOKEN, 'veloz/deploy-actions', github.url);
    await expect(api.requireNoRelease('v2.0.0')).resolves.toBeUndefined();
    const created = await api.create({ tag: 'v2.0.0', sha: 'a'.repeat(40), name: 'v2.0.0', body: 'notes' });
    expect(created.immutable).toBe(true);
    await expect(api.requireNoRelease('v2.0.0')).rejects.toThrow(`v2.0.0 already has a release (${created.url})`);
    await expect(api.create({ tag: 'v2.0.0', sha: 'b'.repeat(40), name: 'again', body: '' })).rejects.toThrow(
      /GitHub API POST releases: .*already_exists/s,
    );
    expect(github.violations.filter((v) => v.kind !== 'request')).toEqual([]); // only the refused duplicate
  });

  test('a GitHub API that never answers fails the call at its deadline, naming it', async () => {
    github = await startGithubDouble({ token: TOKEN, repository: 'veloz/deploy-actions', immutableReleases: true });
    github.stall('repos/check-immutable-releases');
    const api = githubReleases(TOKEN, 'veloz/deploy-actions', github.url, 300);
    await expect(api.requireImmutableReleases()).rejects.toThrow(
      'the GitHub API did not answer GET immutable-releases within 0.3 s',
    );
  });
});
