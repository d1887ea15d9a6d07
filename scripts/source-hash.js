// The fingerprint of everything that goes into dist/: bundle.js writes it to dist/source-hash.txt and
// Jest's global set-up compares it, so tests never run a bundle older than the sources they test.
// Content, not mtimes: a fresh clone gives every file the same checkout time.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const SOURCE_ROOTS = [
  'actions',
  'cli/src',
  'packages/shared/src',
  'scripts/bundle.js',
  'package-lock.json',
  'tsconfig.json',
];
export const HASH_FILE = 'dist/source-hash.txt';

function files(root, rel) {
  if (!statSync(join(root, rel)).isDirectory()) return [rel];
  return readdirSync(join(root, rel))
    .sort()
    .flatMap((name) => files(root, `${rel}/${name}`));
}

export function sourceHash(root = '.') {
  const hash = createHash('sha256');
  for (const rel of SOURCE_ROOTS.flatMap((p) => files(root, p))) {
    hash.update(`${rel}\0`);
    hash.update(readFileSync(join(root, rel)));
    hash.update('\0');
  }
  return hash.digest('hex');
}
