/**
 * The bundles under test: a snapshot of the committed dist/ taken when the bench starts, so every figure
 * measures one build even if dist/ is rebuilt while the bench runs. Action steps still go through the
 * runner protocol (`runActionBundle`); a tiny `node` wrapper points the entry path at the snapshot.
 */
import { ACTION_NAMES, REPO_ROOT, inputVariable, loadActionMetadata, type ActionName } from '@veloz/harness';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { progress, sleep } from './lib';

const SOURCE = join(REPO_ROOT, 'dist');

export interface Bundles {
  /** The snapshot's dist directory. */
  dist: string;
  entry(action: ActionName): string;
  /** A `node` for runActionBundle: runs the snapshot's entry instead of dist/'s, on `realNode`. */
  node(realNode: string): { node: string; env: Record<string, string> };
  /** What a bundle gets from the runner when its inputs are `inputs` (action.yml defaults applied). */
  inputEnv(action: ActionName, inputs: Record<string, string>): Promise<Record<string, string>>;
  remove(): Promise<void>;
}

async function fingerprint(): Promise<string> {
  const files = (await readdir(SOURCE, { recursive: true })).map(String).sort();
  const parts = await Promise.all(
    files.map(async (f) => {
      const s = await stat(join(SOURCE, f));
      return `${f}:${s.size}:${s.mtimeMs}`;
    }),
  );
  return parts.join('|');
}

function complete(): boolean {
  return existsSync(join(SOURCE, 'index.js')) && ACTION_NAMES.every((a) => existsSync(join(SOURCE, a, 'index.js')));
}

let current: Bundles | undefined;

/** Copies dist/ once it is complete and stayed unchanged while it was copied. */
export async function snapshotBundles(): Promise<Bundles> {
  if (current) return current;
  const root = await mkdtemp(join(tmpdir(), 'veloz-bench-dist-'));
  const dist = join(root, 'dist');
  for (let attempt = 0; ; attempt++) {
    if (attempt === 60) throw new Error(`dist/ did not hold still for a snapshot (is a bundle build looping?)`);
    if (!complete()) {
      if (attempt === 0) progress('dist/ is incomplete (being rebuilt?): waiting');
      await sleep(2000);
      continue;
    }
    const before = await fingerprint();
    await rm(dist, { recursive: true, force: true });
    await cp(SOURCE, dist, { recursive: true });
    if ((await fingerprint()) === before && complete()) break;
    await sleep(1000);
  }
  const wrapper = join(root, 'node');
  await writeFile(
    wrapper,
    // bash, not sh: dash drops the runner's INPUT_<NAME-WITH-HYPHENS> variables from the environment
    "#!/bin/bash\n# the action entry arrives as $1 under dist/: run the snapshot's copy instead\n" +
      'entry="$1"; shift\n' +
      'case "$entry" in "$BENCH_DIST_FROM"/*) entry="$BENCH_DIST_TO${entry#"$BENCH_DIST_FROM"}";; esac\n' +
      'exec "$BENCH_REAL_NODE" "$entry" "$@"\n',
  );
  await chmod(wrapper, 0o755);
  current = {
    dist,
    entry: (action) => join(dist, action, 'index.js'),
    node: (realNode) => ({
      node: wrapper,
      env: { BENCH_DIST_FROM: SOURCE, BENCH_DIST_TO: dist, BENCH_REAL_NODE: realNode },
    }),
    async inputEnv(action, inputs) {
      const metadata = await loadActionMetadata(action);
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? root,
        CI: 'true',
        GITHUB_ACTIONS: 'true',
        RUNNER_TEMP: root,
      };
      for (const [name, spec] of Object.entries(metadata.inputs)) {
        const value = inputs[name] ?? spec.default;
        if (value !== undefined) env[inputVariable(name)] = value;
      }
      return env;
    },
    async remove() {
      current = undefined;
      await rm(root, { recursive: true, force: true });
    },
  };
  return current;
}
