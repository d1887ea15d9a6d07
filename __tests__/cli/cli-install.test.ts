/** `npx veloz-deploy` from a checkout, and from the packed package with no node_modules at all. */
import { expect, test } from '@jest/globals';
import { REPO_ROOT } from '@veloz/harness';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

test('npx veloz-deploy --help works in the checkout (the package root bin)', async () => {
  const { stdout } = await run('npx', ['--offline', 'veloz-deploy', '--help'], { cwd: REPO_ROOT, timeout: 60_000 });
  expect(stdout).toContain('Usage: veloz-deploy <command>');
  expect(stdout).toContain('plan <canary|promote|rollback>');
}, 90_000);

test('the packed package runs with nothing installed: the bin needs only dist/ and action.yml', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'veloz-pack-'));
  try {
    await run('npm', ['pack', REPO_ROOT, '--pack-destination', dir], { cwd: dir, timeout: 60_000 });
    const tarball = (await readdir(dir)).find((f) => f.endsWith('.tgz'))!;
    await run('tar', ['xzf', tarball], { cwd: dir, timeout: 30_000 });
    const { stdout } = await run(
      process.execPath,
      [join(dir, 'package', 'bin', 'veloz-deploy.js'), 'rollback', '--help'],
      {
        cwd: dir,
        timeout: 30_000,
      },
    );
    expect(stdout).toMatch(/--to-revision\s+Revision to return to/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 120_000);
