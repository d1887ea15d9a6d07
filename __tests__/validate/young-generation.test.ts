/**
 * A validate step with a monitoring window runs with V8's young generation bounded (issue 30, bench
 * figure 9): it re-executes itself, same pid, with --max-semi-space-size; a single pass does not.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { startEngine, type EngineHandle } from '@veloz/sandbox/engine/index';
import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { SEMI_SPACE_MIB, windowRequested } from '../../actions/validate/src/young-generation';

let engine: EngineHandle;
beforeAll(async () => {
  engine = await startEngine({
    namespace: 'veloz',
    podName: 'veloz-engine-0',
    image: 'veloz/engine:1.1.0',
    testToken: 't',
  });
});
afterAll(async () => engine.stop());

/** The validate process's command line while it runs, read from /proc after its first pass line. */
async function commandLineOf(
  inputs: Record<string, string>,
): Promise<{ argv: string[]; exitCode: number; stdout: string }> {
  let pid: number | undefined;
  let argv: Promise<string[]> | undefined;
  const run = await runActionBundle(
    'validate',
    { url: engine.url, checks: 'health', ...inputs },
    {
      onSpawn: (child) => (pid = child.pid),
      onLine: (line) => {
        if (!argv && line.startsWith('pass 1 ')) {
          argv = readFile(`/proc/${pid}/cmdline`, 'utf8').then((text) => text.split('\0').filter(Boolean));
        }
      },
    },
  );
  return { argv: (await argv) ?? [], exitCode: run.exitCode ?? -1, stdout: run.stdout };
}

describe('the young generation of a validate step', () => {
  test('a window: the same process runs on with the bound, and logs each pass once', async () => {
    const r = await commandLineOf({ duration: '2s', interval: '1s' });
    expect(r.exitCode).toBe(0);
    expect(r.argv).toContain(`--max-semi-space-size=${SEMI_SPACE_MIB}`);
    expect(r.stdout.match(/^pass 1 at /gm)).toHaveLength(1);
    expect(r.stdout.match(/^pass 3 at /gm)).toHaveLength(1);
  });

  test('one pass (duration 0): no re-execution', async () => {
    // A target that accepts and never answers keeps the single pass running while /proc is read.
    const silent = createServer(() => undefined);
    await new Promise<void>((listening) => silent.listen(0, '127.0.0.1', listening));
    const port = (silent.address() as AddressInfo).port;
    try {
      let argv: string[] = [];
      const run = await runActionBundle(
        'validate',
        { url: `http://127.0.0.1:${port}`, checks: 'health', duration: '0', 'check-timeout': '3s' },
        {
          onSpawn: (child) =>
            void sleep(1500).then(async () => {
              argv = (await readFile(`/proc/${child.pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
            }),
        },
      );
      expect(run.exitCode).toBe(1); // the health check timed out: the pass ran, in this process
      expect(argv.some((a) => a.endsWith('validate/index.js'))).toBe(true);
      expect(argv.some((a) => a.startsWith('--max-semi-space-size'))).toBe(false);
    } finally {
      silent.close();
    }
  });
});

test('which durations ask for a window', () => {
  // a bad value is no window: the step starts once and reports it
  for (const none of [undefined, '', '0', '0s', '0ms', ' 0m ', '0.0h', 'soon'])
    expect(windowRequested(none)).toBe(false);
  for (const window of ['1s', '30m', '500ms', '15m30s']) expect(windowRequested(window)).toBe(true);
});
