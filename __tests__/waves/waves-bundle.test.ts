/**
 * The waves steps as waves.yml runs them: `node bin/veloz-deploy.js waves plan` on the committed
 * bundle, its inputs from the environment, its outputs in GITHUB_OUTPUT; and `status` from the bundle.
 */
import { describe, expect, test } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../cli/run-cli';

describe('veloz-deploy waves from the bundle', () => {
  test('plan: outputs in GITHUB_OUTPUT; a bad input is one ::error:: per problem and exit 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'veloz-waves-bundle-'));
    try {
      const output = join(dir, 'output');
      const good = await runCli(['waves', 'plan'], {
        VELOZ_WAVES:
          'waves:\n  - clusters: [production-eu]\n  - clusters: [production-us, production-ap]\n    max-parallel: 2\n',
        GITHUB_OUTPUT: output,
      });
      expect(good.stderr).toBe('');
      expect(good.code).toBe(0);
      const written = await readFile(output, 'utf8');
      expect(written).toContain('count=2\n');
      expect(written).toContain(
        'wave-2={"name":"wave 2","clusters":["production-us","production-ap"],"max-parallel":2}\n',
      );
      const bad = await runCli(['waves', 'plan'], { VELOZ_WAVES: 'waves:\n  - clusters: [a b]\n    speed: 3\n' });
      expect(bad.code).toBe(1);
      expect(bad.stdout.trim().split('\n')).toEqual([
        '::error title=waves::waves: wave 1: unknown key `speed`: expected name, clusters, max-parallel',
        '::error title=waves::waves: wave 1: cluster "a b": expected an environment name such as production or staging-eu (letters, digits, . _ -, at most 100)',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('status --help from the bundle', async () => {
    const run = await runCli(['status', '--help'], {});
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('veloz-deploy status');
  });
});
