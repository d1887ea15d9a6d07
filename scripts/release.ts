/**
 * `npm run release -- <X.Y.Z> [--dry-run] [--remote origin] [--repository owner/name]`
 *
 * Checks dist/ is fresh, writes CHANGELOG.md, pins the reusable workflows to the release's own actions,
 * tags vX.Y.Z and moves vX, pushes, and creates an immutable GitHub release (token: GITHUB_TOKEN or
 * GH_TOKEN; API: GITHUB_API_URL). `--dry-run` does the git part locally and prints the rest.
 * See scripts/release/release.ts for the steps.
 */
import { main } from './release/cli';

try {
  process.exitCode = await main(process.argv.slice(2), process.env);
} catch (error) {
  console.error(`release failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
