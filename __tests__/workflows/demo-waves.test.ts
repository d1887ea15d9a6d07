/**
 * `npm run demo -- --clusters 2` end to end: two sandbox clusters, each with its own kubeconfig, the
 * waves input planned by cli/src/waves, wave 1 then wave 2 through deploy.yml's job chain (the committed
 * dist bundles), and the release summary; bounded, and nothing of its process group left behind.
 */
import { describe, expect, test } from '@jest/globals';
import { REPO_ROOT } from '@veloz/harness';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { groupEmpties } from '../support/process-group';
import { parseWaves } from '../../cli/src/waves/plan';
import { makeStyle } from '../../scripts/demo/render';
import { summaryForTerminal, wavesInput } from '../../scripts/demo/waves';

const TSX = join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs');

/** The demo in a process group of its own, SIGKILLed as a group if it outlives `withinMs`. */
function demo(args: string[], withinMs: number): Promise<{ code: number | null; output: string; pgid: number }> {
  const child = spawn(process.execPath, [TSX, join(REPO_ROOT, 'scripts/demo.ts'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, NO_COLOR: '1' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const pgid = child.pid!;
  const timer = setTimeout(() => {
    output += `\n[test: killed after ${withinMs} ms]`;
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone
    }
  }, withinMs);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, pgid });
    }),
  );
}

describe('the waves input the demo plans', () => {
  test.each([1, 2, 3, 4])('%i cluster(s): a plan the waves code accepts, the first cluster alone first', (n) => {
    const parsed = parseWaves(wavesInput(n));
    expect(parsed.errors).toEqual([]);
    expect(parsed.plan!.onFailure).toBe('rollback-all');
    expect(parsed.plan!.waves.map((w) => w.clusters)).toEqual(
      n === 1 ? [['production-1']] : [['production-1'], Array.from({ length: n - 1 }, (_, i) => `production-${i + 2}`)],
    );
  });

  test("the summary's Markdown as terminal lines: heading, aligned table without links, no Mermaid", () => {
    const markdown = [
      '## VeloZ 1.1.0 in 2 wave(s): PROMOTED',
      '',
      'on-failure: `rollback-all` · [this run]()',
      '',
      '| Wave | Cluster | Before | After | Verdict | Duration | Links |',
      '| ---- | ------- | ------ | ----- | ------- | -------- | ----- |',
      '| 1 canary | production-1 | 1.0.0 | 1.1.0 | ✅ promoted | 10s | [deployments](https://x) |',
      '',
      '```mermaid',
      'flowchart LR',
      '```',
    ].join('\n');
    expect(summaryForTerminal(markdown, { s: makeStyle(false) })).toEqual([
      'VeloZ 1.1.0 in 2 wave(s): PROMOTED',
      'on-failure: `rollback-all`',
      '  Wave      Cluster       Before  After  Verdict     Duration',
      '  1 canary  production-1  1.0.0   1.1.0  ✓ promoted  10s',
    ]);
  });
});

describe('npm run demo -- --clusters', () => {
  test('an unknown count is refused before anything starts', async () => {
    const run = await demo(['--clusters', '9'], 30_000);
    expect(run.code).toBe(2);
    expect(run.output).toContain('--clusters must be a whole number from 1 to 4 (got "9")');
  }, 40_000);

  test('2: wave 1 then wave 2, each cluster its own sandbox, both promoted, nothing left running', async () => {
    const run = await demo(['--clusters', '2'], 180_000);
    expect({ code: run.code, tail: run.output.slice(-1500) }).toEqual({ code: 0, tail: run.output.slice(-1500) });
    const out = run.output;
    expect(out).toContain('plan: wave 1 (canary cluster): production-1\nplan: wave 2 (the rest): production-2');
    // two API servers, two kubeconfigs
    const sandboxes = [...out.matchAll(/^(production-\d): sandbox (\S+) · kubeconfig (\S+)$/gm)];
    expect(sandboxes.map((m) => m[1])).toEqual(['production-1', 'production-2']);
    expect(new Set(sandboxes.map((m) => m[2])).size).toBe(2);
    expect(new Set(sandboxes.map((m) => m[3])).size).toBe(2);
    // wave 2 starts only after wave 1's whole chain, rollback decision included
    const wave1 = out.indexOf('━━ Wave 1');
    const wave2 = out.indexOf('━━ Wave 2');
    expect(wave1).toBeGreaterThan(0);
    expect(wave2).toBeGreaterThan(wave1);
    const firstChain = out.slice(wave1, wave2);
    for (const job of ['preflight', 'canary', 'validate-canary', 'promote', 'validate'])
      // preflight warns (rbac): the sandbox's kubeconfig is an admin's, more than the canary stage needs
      expect(firstChain).toMatch(new RegExp(`^${job === 'preflight' ? '[✓!]' : '✓'} ${job} +\\d+\\.\\ds`, 'm'));
    expect(firstChain).toMatch(/^– rollback +skipped$/m);
    expect(firstChain).toContain('promote waits for the reviewers of environment "production-1"');
    expect(out.slice(wave2)).toContain('promote waits for the reviewers of environment "production-2"');
    // the release summary, a row per cluster
    expect(out).toContain('VeloZ 1.1.0 in 2 wave(s): PROMOTED');
    expect(out).toMatch(/^ {2}1 canary cluster +production-1 +1\.0\.0 +1\.1\.0 +✓ promoted +\S+$/m);
    expect(out).toMatch(/^ {2}2 the rest +production-2 +1\.0\.0 +1\.1\.0 +✓ promoted +\S+$/m);
    expect(out).toMatch(/✓ 2 clusters promoted wave by wave in \d+\.\ds\./);
    // ended on its own: its sandboxes, helm and bundle children are gone with it
    expect(await groupEmpties(run.pgid, 5000)).toEqual([]);
  }, 200_000);

  test('2 --fail-in production-2: wave 2 fails and rolls itself back, rollback-all returns wave 1 to 1.0.0', async () => {
    const run = await demo(['--clusters', '2', '--fail-in', 'production-2'], 180_000);
    expect({ code: run.code, tail: run.output.slice(-1500) }).toEqual({ code: 0, tail: run.output.slice(-1500) });
    const out = run.output;
    const wave2 = out.slice(out.indexOf('━━ Wave 2'));
    expect(wave2).toMatch(/^✓ rollback +\d+\.\ds/m);
    expect(wave2).toContain('✗ wave 2 failed in production-2: later waves do not start');
    expect(wave2).toMatch(/✓ rollback-all production-1: revision 1 \(v1\.0\.0\)/);
    expect(out).toContain('VeloZ 1.1.0 in 2 wave(s): ROLLED BACK');
    expect(out).toMatch(
      /^ {2}1 canary cluster +production-1 +1\.0\.0 +1\.0\.0 +↩️ rolled back \(rollback-all\) +\S+$/m,
    );
    expect(out).toMatch(/^ {2}2 the rest +production-2 +1\.0\.0 +1\.0\.0 +↩️ rolled back +\S+$/m);
    expect(await groupEmpties(run.pgid, 5000)).toEqual([]);
  }, 200_000);

  test('--fail-in without a wave release, or naming no planned cluster, is refused', async () => {
    const alone = await demo(['--fail-in', 'production-2'], 30_000);
    expect(alone.code).toBe(2);
    expect(alone.output).toContain('--fail-in names a cluster of a wave release: use it with --clusters 2 or more');
  }, 40_000);
});
