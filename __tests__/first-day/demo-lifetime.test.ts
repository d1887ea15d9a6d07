/**
 * The README's first command on a machine without the Debian packages, and a demo stopped from outside:
 * it ends within seconds, names what is missing, and leaves no process of its group behind.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { REPO_ROOT } from '@veloz/harness';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { groupEmpties, groupMembers } from '../support/process-group';

const TSX = join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs');

let emptyBin: string;
beforeAll(async () => {
  emptyBin = await mkdtemp(join(tmpdir(), 'veloz-nobin-'));
});
afterAll(async () => {
  await rm(emptyBin, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

/** A script through tsx in a process group of its own (detached), so the group can be inspected. */
function startScript(script: string, env: NodeJS.ProcessEnv, args: string[] = []): Started {
  const started = performance.now();
  const child = spawn(process.execPath, [TSX, join(REPO_ROOT, script), ...args], {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, ms: performance.now() - started })),
  );
  return { child, output: () => output, exited };
}

/** Resolves undefined after `ms` without holding the test process open. */
function within(ms: number): Promise<undefined> {
  return new Promise((r) => setTimeout(() => r(undefined), ms).unref());
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // gone
  }
}

describe('npm run demo on a machine without the Debian packages', () => {
  test('fails within 10 s naming redis-server and its package, with nothing left running', async () => {
    const demo = startScript('scripts/demo.ts', { ...process.env, PATH: emptyBin, NO_COLOR: '1' });
    const pgid = demo.child.pid!;
    try {
      const end = await Promise.race([demo.exited, within(10_000)]);
      expect(end).toBeDefined();
      expect(end!.code).toBe(1);
      expect(demo.output()).toContain('redis-server (Debian package redis-server)');
      expect(demo.output()).toContain('npm run setup');
      expect(await groupEmpties(pgid, 2000)).toEqual([]);
    } finally {
      killGroup(pgid);
    }
  });

  test('npm run setup without apt-get prints the exact install command and exits 1', async () => {
    const setup = startScript('scripts/setup.ts', { ...process.env, PATH: emptyBin }, ['demo']);
    const end = await setup.exited;
    expect(end.code).toBe(1);
    expect(setup.output()).toMatch(/sudo apt-get install -y --no-install-recommends .*redis-server.*redis-sentinel/);
  });

  test('npm run setup refuses an unknown purpose', async () => {
    const setup = startScript('scripts/setup.ts', process.env, ['tests']);
    expect((await setup.exited).code).toBe(2);
    expect(setup.output()).toContain('unknown purpose tests; expected any of demo, test, lint, bench');
  });
});

describe('a demo whose server fails to start', () => {
  test('a Redis that exits at start ends the demo within seconds, and the PostgreSQL it started is stopped', async () => {
    const fake = join(emptyBin, 'redis-server');
    await writeFile(fake, '#!/bin/sh\necho "fake redis-server: refusing to start" >&2\nexit 1\n', { mode: 0o755 });
    const demo = startScript('scripts/demo.ts', { ...process.env, REDIS_SERVER: fake, NO_COLOR: '1' });
    const pgid = demo.child.pid!;
    try {
      // PostgreSQL primary + standby start meanwhile (a few seconds); then both are stopped.
      const end = await Promise.race([demo.exited, within(45_000)]);
      expect(end).toBeDefined();
      expect(end!.code).toBe(1);
      expect(demo.output()).toMatch(/demo failed: redis exited \(exit 1/);
      expect(await groupEmpties(pgid, 5000)).toEqual([]);
    } finally {
      killGroup(pgid);
      await rm(fake, { force: true });
    }
  }, 60_000);
});

describe('a running demo stopped from outside', () => {
  test.each(['SIGTERM', 'SIGINT'] as const)(
    '%s once its PostgreSQL and Redis are up leaves no process behind',
    async (signal) => {
      const demo = startScript('scripts/demo.ts', { ...process.env, NO_COLOR: '1' });
      const pgid = demo.child.pid!;
      try {
        // "data tier:" is printed once the sandbox, PostgreSQL primary + standby and Redis Sentinel are up.
        const deadline = Date.now() + 60_000;
        while (!demo.output().includes('data tier:') && demo.child.exitCode === null && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 100));
        expect(demo.output()).toContain('data tier:');
        expect(groupMembers(pgid).some((m) => / (postgres|redis-server|redis-sentinel)/.test(m))).toBe(true);

        process.kill(demo.child.pid!, signal);
        const end = await Promise.race([demo.exited, within(20_000)]);
        expect(end).toBeDefined();
        expect(end!.code).not.toBe(0);
        expect(await groupEmpties(pgid, 5000)).toEqual([]);
      } finally {
        killGroup(pgid);
      }
    },
    90_000,
  );
});
