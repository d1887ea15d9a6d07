/**
 * A validate step with a monitoring window runs with its memory bounded (issue 30, bench figure 9): it
 * re-executes itself, same pid, with --max-semi-space-size and MALLOC_ARENA_MAX; a single pass does not.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { startEngine, type EngineHandle } from '@veloz/sandbox/engine/index';
import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { MALLOC_ARENAS, SEMI_SPACE_MIB, windowRequested } from '../../actions/validate/src/window-memory';

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

const nulSeparated = (path: string): Promise<string[]> =>
  readFile(path, 'utf8').then((text) => text.split('\0').filter(Boolean));

/** The validate process's command line and environment while it runs, read from /proc after its first pass line. */
async function processOf(
  inputs: Record<string, string>,
  env: Record<string, string> = {},
): Promise<{ argv: string[]; environ: string[]; exitCode: number; stdout: string }> {
  let pid: number | undefined;
  let read: Promise<[string[], string[]]> | undefined;
  const run = await runActionBundle(
    'validate',
    { url: engine.url, checks: 'health', ...inputs },
    {
      env,
      onSpawn: (child) => (pid = child.pid),
      onLine: (line) => {
        if (!read && line.startsWith('pass 1 '))
          read = Promise.all([nulSeparated(`/proc/${pid}/cmdline`), nulSeparated(`/proc/${pid}/environ`)]);
      },
    },
  );
  const [argv, environ] = (await read) ?? [[], []];
  return { argv, environ, exitCode: run.exitCode ?? -1, stdout: run.stdout };
}

describe('the memory of a validate step', () => {
  test('a window: the same process runs on with both bounds, and logs each pass once', async () => {
    const r = await processOf({ duration: '2s', interval: '1s' });
    expect(r.exitCode).toBe(0);
    expect(r.argv).toContain(`--max-semi-space-size=${SEMI_SPACE_MIB}`);
    expect(r.environ).toContain(`MALLOC_ARENA_MAX=${MALLOC_ARENAS}`);
    expect(r.stdout.match(/^pass 1 at /gm)).toHaveLength(1);
    expect(r.stdout.match(/^pass 3 at /gm)).toHaveLength(1);
  });

  test("a window: the user's own MALLOC_ARENA_MAX is kept", async () => {
    const r = await processOf({ duration: '1s', interval: '1s' }, { MALLOC_ARENA_MAX: '4' });
    expect(r.exitCode).toBe(0);
    expect(r.environ).toContain('MALLOC_ARENA_MAX=4');
    expect(r.environ.filter((v) => v.startsWith('MALLOC_ARENA_MAX='))).toHaveLength(1);
  });

  test('one pass (duration 0): no re-execution', async () => {
    // A target that accepts and never answers keeps the single pass running while /proc is read.
    const silent = createServer(() => undefined);
    await new Promise<void>((listening) => silent.listen(0, '127.0.0.1', listening));
    const port = (silent.address() as AddressInfo).port;
    try {
      let argv: string[] = [];
      let environ: string[] = [];
      const run = await runActionBundle(
        'validate',
        { url: `http://127.0.0.1:${port}`, checks: 'health', duration: '0', 'check-timeout': '3s' },
        {
          onSpawn: (child) =>
            void sleep(1500).then(async () => {
              [argv, environ] = await Promise.all([
                nulSeparated(`/proc/${child.pid}/cmdline`),
                nulSeparated(`/proc/${child.pid}/environ`),
              ]);
            }),
        },
      );
      expect(run.exitCode).toBe(1); // the health check timed out: the pass ran, in this process
      expect(argv.some((a) => a.endsWith('validate/index.js'))).toBe(true);
      expect(argv.some((a) => a.startsWith('--max-semi-space-size'))).toBe(false);
      expect(environ.some((v) => v.startsWith('MALLOC_ARENA_MAX='))).toBe(false);
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
