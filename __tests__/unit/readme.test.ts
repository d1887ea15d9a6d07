import { expect, test } from '@jest/globals';
import { roleManifests } from '@veloz/harness/role-manifests';
import { debianPackages } from '@veloz/harness/prerequisites';
import { readFileSync } from 'node:fs';

const readme = readFileSync('README.md', 'utf8');

test("the README's least-privilege Role is the permission list the rbac check asks about", () => {
  const section = readme.slice(readme.indexOf('## Least-privilege credentials'));
  const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  expect(block?.trim()).toBe(roleManifests().trim());
});

test("the README states the two fresh-machine commands, and .ci/run runs the test one's parts", () => {
  expect(readme).toContain('npm ci && npm run setup -- demo && npm run demo');
  expect(readme).toContain('npm ci && npm run setup && npm test -- --coverage');
  const ci = readFileSync('.ci/run', 'utf8');
  expect(ci).toMatch(/^npm ci\b/m);
  expect(ci).toMatch(/^npm run setup -- demo test lint$/m);
  expect(ci).toMatch(/^npm test -- --coverage$/m);
  // the one list: no second apt-get line beside it
  expect(ci).not.toContain('apt-get install');
});

test('the README names every Debian package of the one list, and what it is for', () => {
  const section = readme.slice(readme.indexOf('`npm run setup [-- demo|test|lint|bench]`'));
  for (const p of debianPackages().filter((p) => !p.for.every((f) => f === 'bench')))
    expect(section.slice(0, 800)).toContain(p.name);
});
