/** The first-day contract in-process: the one package list, the program lookup, lint's shellcheck, the dependency list. */
import { describe, expect, test } from '@jest/globals';
import { REPO_ROOT } from '@veloz/harness';
import { debianPackages, findProgram, MissingPrograms, missingPrograms } from '@veloz/harness/prerequisites';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

describe('scripts/debian-packages.txt', () => {
  test('every line names a package, its programs and who needs it', () => {
    const packages = debianPackages();
    expect(packages.map((p) => p.name)).toEqual(
      expect.arrayContaining(['postgresql', 'redis-server', 'redis-sentinel', 'prometheus', 'shellcheck']),
    );
    for (const p of packages) {
      expect(p.programs.length).toBeGreaterThan(0);
      expect(p.for.length).toBeGreaterThan(0);
      for (const purpose of p.for) expect(['demo', 'test', 'lint', 'bench']).toContain(purpose);
    }
  });

  test('a PATH without redis names redis-server and redis-sentinel with their packages', () => {
    const missing = missingPrograms('demo', '/nonexistent');
    expect(missing).toEqual(
      expect.arrayContaining([
        { program: 'redis-server', package: 'redis-server' },
        { program: 'redis-sentinel', package: 'redis-sentinel' },
      ]),
    );
    const error = new MissingPrograms('the demo', missing);
    expect(error.message).toContain('redis-server (Debian package redis-server)');
    expect(error.message).toMatch(/npm run setup`, or: sudo apt-get install -y --no-install-recommends .*redis-server/);
  });

  test('PostgreSQL server programs are found off PATH, in its versioned bindir', () => {
    if (!findProgram('postgres')) return expect(findProgram('postgres', '')).toBeUndefined();
    expect(findProgram('postgres', '')).toMatch(/\/postgresql\/\d+\/bin\/postgres$/);
  });
});

describe('lint: shellcheck over every workflow run script', () => {
  const lint = (...files: string[]) =>
    spawnSync(process.execPath, ['scripts/workflow-shellcheck.js', ...files], { cwd: REPO_ROOT, encoding: 'utf8' });

  test('it fails on the ci.yml whose PostgreSQL line was folded into the Chrome step', () => {
    const r = lint('__tests__/fixtures/workflows/ci-folded-run.yml');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /ci-folded-run\.yml:\d+:\d+: bindir is referenced but not assigned\. \[shellcheck warning SC2154\]/,
    );
  });

  test("the repository's workflows and examples are clean", () => {
    const r = lint();
    expect(r.stdout).toMatch(/workflow-shellcheck: \d+ run script\(s\) in \d+ file\(s\) clean/);
    expect(r.status).toBe(0);
  });
});

test("package.json's dependencies are exactly the packages the bundled sources import", () => {
  const sources = ['actions', 'cli/src', 'packages/shared/src'].flatMap((dir) => tsFiles(join(REPO_ROOT, dir)));
  const imported = new Set<string>();
  for (const file of sources) {
    const text = readFileSync(file, 'utf8');
    const specs = [
      ...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'([^'.][^']*)'/gm),
      ...text.matchAll(/\bimport\(\s*'([^'.][^']*)'\s*\)/g),
    ];
    for (const m of specs) {
      const spec = m[1]!;
      if (spec.startsWith('node:') || spec.startsWith('@veloz/')) continue;
      imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  }
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: object };
  expect(Object.keys(pkg.dependencies).sort()).toEqual([...imported].sort());
});

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}
