/**
 * The reusable workflows call our actions as `veloz/deploy-actions/<action>@v1`. In a release they are
 * pinned to the commit the release's actions live in, so a caller that pins deploy.yml (by tag or SHA)
 * runs exactly that release's actions, whatever `v1` points to later.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const OWN_ACTION_PREFIX = 'veloz/deploy-actions/';
const WORKFLOWS_DIR = '.github/workflows';

/** `uses: veloz/deploy-actions/<action>@<ref>` as a step key (comments and `.github/workflows/` calls excluded). */
const OWN_ACTION_USE = /^(\s*(?:-\s+)?uses:\s*)veloz\/deploy-actions\/([\w-]+)@[^\s#]+(?:\s+#.*)?$/gm;

export interface PinnedFile {
  path: string;
  /** The actions referenced, in file order. */
  actions: string[];
}

/** Rewrites each own-action reference to `@<sha> # <tag>`; returns the new text and the actions seen. */
export function pinOwnActions(text: string, sha: string, tag: string): { text: string; actions: string[] } {
  const actions: string[] = [];
  const pinned = text.replace(OWN_ACTION_USE, (_line, prefix: string, action: string) => {
    actions.push(action);
    return `${prefix}${OWN_ACTION_PREFIX}${action}@${sha} # ${tag}`;
  });
  return { text: pinned, actions };
}

/**
 * Pins every workflow under .github/workflows that references our actions. Fails when a referenced
 * action has no folder with an action.yml in the repository (the pin would point at nothing).
 */
export async function pinWorkflows(root: string, sha: string, tag: string): Promise<PinnedFile[]> {
  const pinned: PinnedFile[] = [];
  const names = (await readdir(join(root, WORKFLOWS_DIR))).filter((f) => /\.ya?ml$/.test(f)).sort();
  for (const name of names) {
    const path = join(WORKFLOWS_DIR, name);
    const result = pinOwnActions(await readFile(join(root, path), 'utf8'), sha, tag);
    if (result.actions.length === 0) continue;
    const missing = result.actions.filter((a) => !existsSync(join(root, a, 'action.yml')));
    if (missing.length) throw new Error(`${path} uses ${missing.join(', ')}: no <action>/action.yml in the repository`);
    await writeFile(join(root, path), result.text);
    pinned.push({ path, actions: result.actions });
  }
  return pinned;
}
