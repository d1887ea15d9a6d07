/**
 * `helm version` runs once per process (issue 30): the rollback starts it beside its other preparation
 * and the rollback step gets the same answer. A stand-in `helm` on PATH counts its runs; a failure is
 * not kept, so the step that needs helm runs it again and reports what went wrong.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectHelm } from '@veloz/shared/helm/cli';

let dir: string;
const originalPath = process.env.PATH;

/** A `helm` that logs each run to `runs` and answers like helm 3.17.3, or fails. */
function standIn(name: string, ok: boolean): { bin: string; runs: () => number } {
  const runs = join(dir, `${name}.runs`);
  writeFileSync(runs, '');
  const bin = join(dir, name);
  writeFileSync(
    bin,
    `#!/bin/sh\necho run >> '${runs}'\n${ok ? 'printf v3.17.3' : 'echo "no kube here" >&2; exit 3'}\n`,
  );
  chmodSync(bin, 0o755);
  return { bin, runs: () => readFileSync(runs, 'utf8').split('\n').filter(Boolean).length };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'veloz-helm-detect-'));
  process.env.PATH = `${dir}:${originalPath ?? ''}`;
});
afterAll(() => {
  process.env.PATH = originalPath;
  rmSync(dir, { recursive: true, force: true });
});

test('callers at once and callers later share one `helm version`', async () => {
  const helm = standIn('helm-ok', true);
  const first = await Promise.all([detectHelm('helm-ok'), detectHelm('helm-ok'), detectHelm('helm-ok')]);
  const later = await detectHelm('helm-ok');
  expect(first).toEqual([
    { bin: 'helm-ok', version: '3.17.3', major: 3 },
    { bin: 'helm-ok', version: '3.17.3', major: 3 },
    { bin: 'helm-ok', version: '3.17.3', major: 3 },
  ]);
  expect(later).toBe(first[0]);
  expect(helm.runs()).toBe(1);
});

test('a failure is reported to its callers and run again by the next one', async () => {
  const helm = standIn('helm-broken', false);
  await expect(detectHelm('helm-broken')).rejects.toThrow('Could not run `helm-broken version` (no kube here)');
  await expect(detectHelm('helm-broken')).rejects.toThrow('no kube here');
  expect(helm.runs()).toBe(2);
});

test('another PATH finds another helm: its answer is not reused', async () => {
  standIn('helm-moved', true);
  await detectHelm('helm-moved');
  const elsewhere = mkdtempSync(join(tmpdir(), 'veloz-helm-elsewhere-'));
  try {
    process.env.PATH = `${elsewhere}:${originalPath ?? ''}`;
    await expect(detectHelm('helm-moved')).rejects.toThrow('Could not run `helm-moved version`');
  } finally {
    process.env.PATH = `${dir}:${originalPath ?? ''}`;
    rmSync(elsewhere, { recursive: true, force: true });
  }
});
