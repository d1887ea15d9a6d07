/**
 * `npx @github/local-action run ./<name> ../actions/<name>/src/main.ts <env file>` — the toolkit's own
 * way to run an action on a laptop — works on each action's source entry from the repository root.
 * local-action 7 stubs @actions/core and its `setFailed` records the failure without a non-zero exit,
 * so the verdict is read from the `::error::` lines on stdout.
 */
import { describe, expect, test } from '@jest/globals';
import { ACTION_NAMES, parseWorkflowCommands, REPO_ROOT, type ActionName } from '@veloz/harness';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One malformed duration per action beside valid required inputs: the input and value it must name. */
const BAD_INPUT: Record<ActionName, { env: Record<string, string>; input: string; value: string }> = {
  preflight: { env: { 'INPUT_CHECK-TIMEOUT': '5 minutes' }, input: 'check-timeout', value: '5 minutes' },
  canary: {
    env: { INPUT_PHASE: 'canary', INPUT_VERSION: '1.1.0', INPUT_CHART: './infra/helm/veloz', INPUT_TIMEOUT: 'soon' },
    input: 'timeout',
    value: 'soon',
  },
  validate: { env: { INPUT_URL: 'http://127.0.0.1:9', INPUT_INTERVAL: '30' }, input: 'interval', value: '30' },
  rollback: { env: { INPUT_REASON: 'error rate above 5% for 5m', INPUT_TIMEOUT: '5x' }, input: 'timeout', value: '5x' },
};

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function localAction(action: ActionName, envFile: string): Promise<Finished> {
  const args = ['--no', '@github/local-action', 'run', `./${action}`, `../actions/${action}/src/main.ts`, envFile];
  // Only what npx and node need: no INPUT_* or GITHUB_* from the test's own environment.
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), NO_COLOR: '1' };
  return new Promise((resolve) => {
    execFile('npx', args, { cwd: REPO_ROOT, env, timeout: 120_000, maxBuffer: 8 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npx @github/local-action runs each action from its source entry', () => {
  test.each(ACTION_NAMES.map((a) => [a]))(
    '%s: one ::error:: naming the bad input and its value, no outputs',
    async (action) => {
      const { env, input, value } = BAD_INPUT[action];
      const dir = await mkdtemp(join(tmpdir(), `local-action-${action}-`));
      try {
        const envFile = join(dir, '.env');
        const lines = Object.entries({ INPUT_KUBECONFIG: 'in-cluster', ...env, RUNNER_TEMP: dir }).map(
          ([k, v]) => `${k}=${JSON.stringify(v)}`,
        );
        await writeFile(envFile, `${lines.join('\n')}\n`);

        const run = await localAction(action, envFile);

        // local-action's stand-in setFailed records the failure and exits 0 (DESIGN.md): read ::error:: below.
        expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
        expect(run.stdout).toContain('Running Action');
        const errors = parseWorkflowCommands(run.stdout).filter((c) => c.kind === 'error');
        expect(errors.map((e) => e.message)).toEqual([expect.stringContaining(`Input '${input}'`)]);
        expect(errors[0]!.message).toContain(JSON.stringify(value));
        expect(run.stdout).toContain('No outputs were set!');
        expect(run.stdout).not.toMatch(/\n\s+at /); // no stack trace
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    150_000,
  );
});
