/**
 * Issue 27: RELEASE_TOKEN moves vX, so no dependency code may meet it. The checkout leaves no
 * credential behind, `npm ci` runs no install scripts and sees no token, and the token is in the
 * environment of the Release step alone, where git's fetch and push take it from that environment.
 * Checked on release.yml as written, and by running the Release step's script against a local HTTP
 * server standing in for GitHub.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadWorkflow, type Job, type Step } from './support/workflows';

const release = loadWorkflow('.github/workflows/release.yml');
const job = release.jobs.release!;
const steps = job.steps ?? [];

/** Any reference to the secret: `secrets.RELEASE_TOKEN`, `secrets['RELEASE_TOKEN']`, any spacing. */
const TOKEN_REF = /secrets\s*(\.\s*RELEASE_TOKEN\b|\[\s*['"]RELEASE_TOKEN['"]\s*\])/i;
const mentions = (value: unknown): boolean => TOKEN_REF.test(JSON.stringify(value ?? null));
const label = (step: Step): string => step.name ?? step.id ?? step.uses ?? step.run ?? '?';

const releaseStep = steps.find((s) => s.id === 'release')!;
const checkout = steps.find((s) => s.uses?.startsWith('actions/checkout@'))!;
const install = steps.filter((s) => /\bnpm (ci|install|i)\b/.test(s.run ?? ''));

describe('release.yml: where RELEASE_TOKEN is', () => {
  test('nowhere at the workflow or job level', () => {
    const { jobs, ...workflowLevel } = release;
    expect(mentions(workflowLevel)).toBe(false);
    for (const [name, j] of Object.entries(jobs)) {
      const { steps: _steps, ...jobLevel } = j as Job;
      expect({ job: name, mentions: mentions(jobLevel) }).toEqual({ job: name, mentions: false });
    }
  });

  test('in one step of one job: the Release step, in its env only, as GH_TOKEN', () => {
    const holders = Object.entries(release.jobs).flatMap(([name, j]) =>
      (j.steps ?? []).filter(mentions).map((s) => `${name}: ${label(s)}`),
    );
    expect(holders).toEqual(['release: Release']);
    expect(releaseStep.run).toContain('npm run release -- "$VERSION"');
    const { env, ...rest } = releaseStep;
    expect(mentions(rest)).toBe(false);
    expect(Object.entries(env ?? {}).filter(([, v]) => mentions(v))).toEqual([
      ['GH_TOKEN', '${{ secrets.RELEASE_TOKEN }}'],
    ]);
  });

  test('the checkout uses the read-only GITHUB_TOKEN and persists no credential', () => {
    expect(checkout.uses).toMatch(/^actions\/checkout@[0-9a-f]{40}$/);
    expect(checkout.with!['persist-credentials']).toBe(false);
    expect(checkout.with!.token).toBeUndefined();
    expect(mentions(checkout)).toBe(false);
    expect(job.permissions).toEqual({ contents: 'read' });
  });

  test('install runs no dependency scripts, without the token, before the Release step', () => {
    expect(install.map((s) => s.run)).toEqual(['npm ci --ignore-scripts']);
    for (const s of install) {
      expect(mentions(s)).toBe(false);
      expect(steps.indexOf(s)).toBeLessThan(steps.indexOf(releaseStep));
    }
    expect(steps.indexOf(checkout)).toBeLessThan(steps.indexOf(releaseStep));
  });
});

describe("the Release step's script, run", () => {
  const TOKEN = 'ghs_release-yml-test-token';
  let dir: string;
  let server: Server;
  let base: string;
  const authorization: (string | undefined)[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'release-step-'));
    server = createServer((req, res) => {
      authorization.push(req.headers.authorization);
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const sh = (file: string, args: string[], env: NodeJS.ProcessEnv, cwd = dir) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(file, args, { cwd, env, timeout: 30_000 }, (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });

  test('git sends the token as the extraheader to the server; nothing lands in .git/config', async () => {
    const repo = join(dir, 'repo');
    const bin = join(dir, 'bin');
    const env = { PATH: process.env.PATH, HOME: dir, GIT_TERMINAL_PROMPT: '0' };
    await sh('git', ['init', '--quiet', repo], env);
    await sh('git', ['remote', 'add', 'origin', `${base}/veloz/deploy-actions.git`], env, repo);
    // `npm run release` stands in as a stub that does what the release script's git does first.
    await sh('mkdir', ['-p', bin], env);
    writeFileSync(
      join(bin, 'npm'),
      '#!/bin/sh\necho "$@" > "$OUT/args"\ngit ls-remote --tags origin > /dev/null 2>&1\ncp .git/config "$OUT/config"\n',
    );
    chmodSync(join(bin, 'npm'), 0o755);
    const output = join(dir, 'output');
    writeFileSync(output, '');
    const result = await sh(
      'bash',
      ['-e', '-c', releaseStep.run!],
      {
        ...env,
        PATH: `${bin}:${process.env.PATH}`,
        OUT: dir,
        GITHUB_OUTPUT: output,
        GITHUB_SERVER_URL: base,
        VERSION: '1.4.0',
        GH_TOKEN: TOKEN,
      },
      repo,
    );
    expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });

    const basic = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
    expect(authorization.length).toBeGreaterThan(0);
    expect(authorization[0]).toBe(`basic ${basic}`);
    expect(result.stdout).toContain(`::add-mask::${basic}`);
    const config = readFileSync(join(dir, 'config'), 'utf8');
    expect(config).not.toContain(basic);
    expect(config).not.toContain(TOKEN);
    expect(config).not.toMatch(/extraheader/i);
    expect(readFileSync(join(dir, 'args'), 'utf8').trim()).toBe('run release -- 1.4.0');
    expect(readFileSync(output, 'utf8')).toBe('tag=v1.4.0\n');
  });
});
