/**
 * File inputs name files inside the workspace (issue 27): a chart, values files, the incident template,
 * the release notes and the deployment log are read into summaries, issue bodies and helm, so a value
 * such as `../../proc/self/environ` or a symlink in the checkout pointing at the runner's files would
 * publish what the runner holds. Paths resolve against GITHUB_WORKSPACE (the current directory outside
 * a runner), symlinks followed, and must stay inside it.
 */
import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ParseError } from './parse';

export function workspaceRoot(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.GITHUB_WORKSPACE || process.cwd());
}

/**
 * The path with every symlink resolved as far as it exists: a file still to be created (the deployment
 * log) is judged by its nearest existing parent. Undefined when it cannot be resolved (a symlink loop).
 */
function realPathOf(path: string): string | undefined {
  const missing: string[] = [];
  for (let current = path; ;) {
    try {
      return join(realpathSync(current), ...missing.reverse());
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return undefined;
      const parent = dirname(current);
      if (parent === current) return undefined;
      missing.push(basename(current));
      current = parent;
    }
  }
}

/** The real path of `value` resolved in the workspace, or a ParseError saying it must stay inside. */
export function parseWorkspacePath(value: string, root: string = workspaceRoot()): string {
  const realRoot = realPathOf(root) ?? root;
  const real = realPathOf(resolve(root, value));
  const rel = real === undefined ? '..' : relative(realRoot, real);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel))
    throw new ParseError(`a path inside the workspace (${realRoot}), symlinks resolved`);
  return real!;
}

/** `oci://…`, `https://…`: fetched by helm, not a file here. */
const REMOTE = /^(?!file:)[a-z][a-z0-9+.-]*:\/\//i;
/** `repo/chart` of a repository added with `helm repo add`, when no such directory exists (helm's own rule). */
const REPO_CHART = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;

/** A chart input: a remote reference passes as it is; anything naming a local chart stays in the workspace. */
export function parseChartReference(value: string, root: string = workspaceRoot()): string {
  if (REMOTE.test(value)) return value;
  if (REPO_CHART.test(value) && !exists(resolve(root, value))) return value;
  return parseWorkspacePath(value, root);
}

/** A values file: helm fetches http(s) URLs itself; a file must stay in the workspace. */
export function parseValuesFile(value: string, root: string = workspaceRoot()): string {
  return /^https?:\/\//i.test(value) ? value : parseWorkspacePath(value, root);
}

function exists(path: string): boolean {
  try {
    realpathSync(path);
    return true;
  } catch {
    return false;
  }
}
