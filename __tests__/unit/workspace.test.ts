/**
 * File inputs confined to the workspace (issue 27), from source: what is a path, what is a remote
 * chart reference, and where symlinks really lead.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type InputReader, readInputs } from '@veloz/shared/inputs';
import { parseChartReference, parseValuesFile, parseWorkspacePath, workspaceRoot } from '@veloz/shared/workspace';

let root: string;
let outside: string;
beforeAll(async () => {
  [root, outside] = await Promise.all([mkdtemp(join(tmpdir(), 'veloz-ws-')), mkdtemp(join(tmpdir(), 'veloz-out-'))]);
  await mkdir(join(root, 'infra/helm/veloz'), { recursive: true });
  await writeFile(join(root, 'pm.md'), '# post-mortem\n');
  await writeFile(join(outside, 'secret'), 'x');
  await symlink(join(outside, 'secret'), join(root, 'link-out'));
  await symlink(join(root, 'pm.md'), join(root, 'link-in'));
  await symlink(outside, join(root, 'dir-out'));
  await symlink(join(root, 'loop'), join(root, 'loop'));
});
afterAll(async () =>
  Promise.all([rm(root, { recursive: true, force: true }), rm(outside, { recursive: true, force: true })]),
);

const outsideError = () =>
  new RegExp(`^a path inside the workspace \\(${root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`);

describe('a path inside the workspace', () => {
  test('GITHUB_WORKSPACE, else the current directory', () => {
    expect(workspaceRoot({ GITHUB_WORKSPACE: root })).toBe(root);
    expect(workspaceRoot({})).toBe(process.cwd());
  });

  test('relative and absolute paths inside resolve to their real path; a file still to be created too', () => {
    expect(parseWorkspacePath('pm.md', root)).toBe(join(root, 'pm.md'));
    expect(parseWorkspacePath('./infra/../pm.md', root)).toBe(join(root, 'pm.md'));
    expect(parseWorkspacePath(join(root, 'pm.md'), root)).toBe(join(root, 'pm.md'));
    expect(parseWorkspacePath('logs/deployments.log', root)).toBe(join(root, 'logs/deployments.log'));
    expect(parseWorkspacePath('link-in', root)).toBe(join(root, 'pm.md'));
  });

  test.each([
    ['../../etc/passwd'],
    ['/etc/passwd'],
    ['/proc/self/environ'],
    ['link-out'],
    ['dir-out/secret'],
    ['dir-out/not-yet.log'],
    ['loop'],
    ['..'],
  ])('%s is refused', (value) => {
    expect(() => parseWorkspacePath(value, root)).toThrow(outsideError());
  });

  test('a sibling directory sharing the prefix is outside', async () => {
    await mkdir(`${root}-sibling`, { recursive: true });
    expect(() => parseWorkspacePath(`${root}-sibling/x`, root)).toThrow(outsideError());
    await rm(`${root}-sibling`, { recursive: true, force: true });
  });
});

describe('chart references and values files', () => {
  test('remote references are no path; local charts stay inside', () => {
    expect(parseChartReference('oci://ghcr.io/veloz/charts/veloz', root)).toBe('oci://ghcr.io/veloz/charts/veloz');
    expect(parseChartReference('https://charts.example.com/veloz-1.2.0.tgz', root)).toBe(
      'https://charts.example.com/veloz-1.2.0.tgz',
    );
    expect(parseChartReference('veloz-repo/veloz', root)).toBe('veloz-repo/veloz');
    expect(parseChartReference('infra/helm/veloz', root)).toBe(join(root, 'infra/helm/veloz'));
    expect(() => parseChartReference('../../etc', root)).toThrow(outsideError());
    // a repo/chart name that exists here is the local directory (helm's own rule), and is judged as one
    expect(() => parseChartReference('dir-out/secret', root)).toThrow(outsideError());
  });

  test('values files: http(s) URLs pass to helm, files stay inside', () => {
    expect(parseValuesFile('https://example.com/values.yaml', root)).toBe('https://example.com/values.yaml');
    expect(parseValuesFile('pm.md', root)).toBe(join(root, 'pm.md'));
    expect(() => parseValuesFile('/etc/hosts', root)).toThrow(outsideError());
  });

  test('the reader names the input and its value, one error per bad line', async () => {
    const previous = process.env.GITHUB_WORKSPACE;
    process.env.GITHUB_WORKSPACE = root;
    try {
      const inputs: Record<string, string> = { 'values-files': 'pm.md\n/etc/hosts\nlink-out', report: 'link-out' };
      const read = await readInputs(
        (reader: InputReader) => ({
          files: reader.paths('values-files'),
          report: reader.path('report'),
        }),
        (name) => inputs[name] ?? '',
      );
      expect(read.errors.map((e) => e.message)).toEqual([
        `Input 'values-files' has value "/etc/hosts": expected a path inside the workspace (${root}), symlinks resolved.`,
        `Input 'report' has value "link-out": expected a path inside the workspace (${root}), symlinks resolved.`,
      ]);
    } finally {
      if (previous === undefined) delete process.env.GITHUB_WORKSPACE;
      else process.env.GITHUB_WORKSPACE = previous;
    }
  });
});
