import { expect, test } from '@jest/globals';
import { roleManifests } from '@veloz/harness/role-manifests';
import { readFileSync } from 'node:fs';

const readme = readFileSync('README.md', 'utf8');

test("the README's least-privilege Role is the permission list the rbac check asks about", () => {
  const section = readme.slice(readme.indexOf('## Least-privilege credentials'));
  const block = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
  expect(block?.trim()).toBe(roleManifests().trim());
});

test('the README states the fresh-machine test command that .ci/run runs', () => {
  expect(readme).toContain('npm ci && npm test -- --coverage');
  expect(readFileSync('.ci/run', 'utf8')).toMatch(/^npm test -- --coverage$/m);
});
