// Jest global set-up: the end-to-end tests run dist/, so dist/ must be built from the sources under
// test. A stale bundle is rebuilt here (a minute or two); on CI it fails instead, because a stale
// committed bundle is what users would run.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { HASH_FILE, sourceHash } from './source-hash.js';

export default function ensureFreshBundle() {
  // Iterating on source-only tests: `VELOZ_BUNDLE_CHECK=off npm test -- <file>` skips this.
  if (process.env.VELOZ_BUNDLE_CHECK === 'off') return;
  const built = existsSync(HASH_FILE) ? readFileSync(HASH_FILE, 'utf8').trim() : '';
  if (built === sourceHash()) return;
  const why = built ? 'dist/ was built from other sources than these' : `dist/ has no ${HASH_FILE}`;
  if (process.env.CI === 'true' || process.env.VELOZ_NO_REBUILD === '1') {
    throw new Error(`${why}: run \`npm run bundle\` and commit dist/.`);
  }
  console.log(`\n${why}: rebuilding with \`npm run bundle\` before the tests run the bundles…`);
  execFileSync('npm', ['run', 'bundle', '--silent'], { stdio: ['ignore', 'ignore', 'inherit'] });
}
