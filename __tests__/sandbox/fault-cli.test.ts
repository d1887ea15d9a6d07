/** `veloz-sandbox fault add|list|clear` against a sandbox started by the CLI, seen through real kubectl. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolPath } from '@veloz/sandbox';
import { eventually } from './support';

const BIN = join(process.cwd(), 'packages/sandbox/bin/veloz-sandbox.js');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

const run = (bin: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Ran> =>
  new Promise((resolve) => {
    execFile(bin, args, { env, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });

let dir: string;
let kubeconfig: string;
let child: ChildProcess;
const cli = (...args: string[]): Promise<Ran> => run(process.execPath, [BIN, ...args]);
const fault = (...args: string[]): Promise<Ran> => cli('fault', '--kubeconfig', kubeconfig, ...args);
const kubectl = async (...args: string[]): Promise<Ran> =>
  run(await toolPath('kubectl'), args, { ...process.env, KUBECONFIG: kubeconfig, HOME: dir });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'veloz-fault-cli-'));
  kubeconfig = join(dir, 'config');
  child = spawn(process.execPath, [BIN, 'start', '--kubeconfig', kubeconfig], { stdio: 'ignore' });
  await eventually(() => existsSync(kubeconfig), 20_000, 'kubeconfig');
});
afterAll(async () => {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await rm(dir, { recursive: true, force: true });
});

describe('veloz-sandbox fault', () => {
  test('--hang holds a request until the fault is cleared; list shows it held', async () => {
    const added = await fault('add', '--verbs', 'get', '--resources', 'namespaces', '--hang');
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^1 {2}verbs=get {2}resources=namespaces {2}hang {2}0 request\(s\) held\n$/);
    let finished = false;
    const pending = kubectl('get', 'namespace', 'veloz', '-o', 'name').then((r) => {
      finished = true;
      return r;
    });
    await eventually(
      async () => (await fault('list')).stdout.includes('1 request(s) held'),
      15_000,
      'the request held',
    );
    expect(finished).toBe(false);
    const cleared = await fault('clear', '1');
    expect(cleared.stdout).toBe('cleared 1 fault(s)\n');
    const answered = await pending;
    expect(answered.code).toBe(0);
    expect(answered.stdout.trim()).toBe('namespace/veloz');
    expect((await fault('list')).stdout).toBe('');
  });

  test('--status with --count answers the code that many times, then the fault is gone', async () => {
    expect(
      (await fault('add', '--verbs', 'get', '--resources', 'namespaces', '--status', '403', '--count', '1')).code,
    ).toBe(0);
    const refused = await kubectl('get', 'namespace', 'veloz', '-o', 'name');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/Forbidden|injected fault/);
    expect((await kubectl('get', 'namespace', 'veloz', '-o', 'name')).code).toBe(0);
    expect((await fault('list')).stdout).toBe('');
  });

  test('--for expires the fault; clear without an id removes all', async () => {
    await fault('add', '--verbs', 'list', '--resources', 'pods', '--latency', '200', '--for', '15s');
    await fault('add', '--verbs', 'watch', '--resources', 'deployments', '--watch-gone');
    const listed = (await fault('list')).stdout.split('\n').filter(Boolean);
    expect(listed).toHaveLength(2);
    expect(listed[0]).toMatch(/verbs=list {2}resources=pods {2}latency 200ms {2}until \d{4}-/);
    expect(listed[1]).toMatch(/verbs=watch {2}resources=deployments {2}watch-gone$/);
    await eventually(
      async () => (await fault('list')).stdout.split('\n').filter(Boolean).length === 1,
      60_000,
      'expiry',
    );
    expect((await fault('clear')).stdout).toBe('cleared 1 fault(s)\n');
    expect((await fault('list')).stdout).toBe('');
  });

  test('bad flags fail with one clear line and add nothing', async () => {
    const cases: [string[], RegExp][] = [
      [['add', '--verbs', 'get', '--hang', '--reset'], /exactly one of .* \(got --hang --reset\)/],
      [['add', '--verbs', 'fetch', '--hang'], /--verbs: "fetch" is not one of get, list, watch/],
      [['add', '--status', '200'], /--status: "200" is not an HTTP error code \(400-599\)/],
      [['add', '--hang', '--for', 'soon'], /--for: "soon" is not a duration such as 30s/],
      [['add', '--hang', '--count', '0'], /--count: "0" is not a positive whole number/],
      [['add', '--verbs', 'get', '--watch-gone'], /--watch-gone ends watches only/],
      [['clear', 'all'], /fault clear takes an optional fault id/],
      [['remove'], /fault expects add, list or clear, not "remove"/],
    ];
    for (const [args, message] of cases) {
      const r = await fault(...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    expect((await cli('fault', 'list')).stderr).toMatch(/fault needs --kubeconfig FILE/);
    expect((await fault('list')).stdout).toBe('');
  });
});
