import { describe, expect, test } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { toolPath } from '@veloz/sandbox';
import { eventually } from './support';

const BIN = join(process.cwd(), 'packages/sandbox/bin/veloz-sandbox.js');

const run = (
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });

const portOpen = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

describe('veloz-sandbox CLI', () => {
  test('tool prints the path of a real binary', async () => {
    const r = await run(['tool', 'helm4']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(await toolPath('helm4'));
    expect(existsSync(r.stdout.trim())).toBe(true);
    expect((await run(['tool', 'oc'])).stderr).toMatch(/tool expects one of/);
  });

  test('start writes a kubeconfig once serving, kubectl works, profile/journal talk to it, SIGTERM stops it cleanly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'veloz-cli-'));
    const kubeconfig = join(dir, 'kube', 'config');
    const child = spawn(
      process.execPath,
      [
        BIN,
        'start',
        '--kubeconfig',
        kubeconfig,
        '--startup-delay',
        '100',
        '--profile',
        'veloz/engine:bad=crashloop:run=100ms',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      await eventually(() => existsSync(kubeconfig), 20_000, 'kubeconfig');
      const cfg = parse(await readFile(kubeconfig, 'utf8')) as {
        clusters: { cluster: { server: string } }[];
        contexts: { context: { namespace: string } }[];
      };
      expect(cfg.contexts[0]?.context.namespace).toBe('veloz');
      const port = Number(new URL(cfg.clusters[0]?.cluster.server ?? '').port);
      const kubectl = await toolPath('kubectl');
      const nodes = await new Promise<string>((resolve, reject) =>
        execFile(
          kubectl,
          ['get', 'nodes', '--no-headers'],
          { env: { ...process.env, KUBECONFIG: kubeconfig, HOME: dir } },
          (err, stdout) => (err ? reject(err) : resolve(stdout)),
        ),
      );
      expect(
        nodes
          .trim()
          .split('\n')
          .filter((l) => / Ready /.test(l)).length,
      ).toBeGreaterThanOrEqual(2);
      await new Promise<void>((resolve, reject) =>
        execFile(
          kubectl,
          ['create', 'deployment', 'engine', '--image=veloz/engine:1'],
          { env: { ...process.env, KUBECONFIG: kubeconfig, HOME: dir } },
          (err) => (err ? reject(err) : resolve()),
        ),
      );
      const targets = await eventually(
        async () => {
          const t = JSON.parse((await run(['targets', '--kubeconfig', kubeconfig])).stdout || '[]') as {
            targets: string[];
            labels: Record<string, string>;
          }[];
          return t.length > 0 ? t : undefined;
        },
        20_000,
        'scrape targets',
      );
      expect(targets[0]).toMatchObject({
        targets: [expect.stringMatching(/^127\.0\.0\.1:\d+$/)],
        labels: { namespace: 'veloz', app: 'engine', pod: expect.stringMatching(/^engine-/) },
      });
      await eventually(() => out.includes('profile: veloz/engine:bad -> crashloop'), 5_000, 'profiles printed');

      const profile = await run(['profile', '--kubeconfig', kubeconfig, 'veloz/engine:2=never-ready']);
      expect(profile.code).toBe(0);
      const badProfile = await run(['profile', '--kubeconfig', kubeconfig, 'veloz/engine:2=sleepy']);
      expect(badProfile.stderr).toMatch(/unknown profile "sleepy"/);
      const journal = await run(['journal', '--kubeconfig', kubeconfig]);
      expect(
        journal.stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as { resource: string })
          .some((e) => e.resource === 'nodes'),
      ).toBe(true);

      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(await portOpen(port)).toBe(false);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
