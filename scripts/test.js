#!/usr/bin/env node
// `npm test [-- jest args]`: runs Jest. With --coverage, the bundles the end-to-end tests start write V8
// coverage too, and the line coverage of source and bundle tests together is printed and held to the floor.
// `npm run test:unit [-- --watch]` (--unit): only the in-process tier (scripts/test-tiers.js), with no
// dist/ check or rebuild, for every save.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { combinedCoverage } from './coverage.js';
import { unitTestFiles } from './test-tiers.js';

const FLOOR = 85;
const unit = process.argv.includes('--unit');
const args = process.argv.slice(2).filter((a) => a !== '--unit');
if (unit) args.push(...unitTestFiles());
// The in-process tier mostly waits (lease expiry, request deadlines, engine timers), not computes: four
// workers on two cores take it from about 61 s to 35 s here. An explicit -w/--maxWorkers still wins.
if (unit && !args.some((a) => a === '-w' || a.startsWith('-w=') || a.startsWith('--maxWorkers')))
  args.push('--maxWorkers=4');
const coverage = args.includes('--coverage');
const bundleDir = resolve('coverage/bundles');
const env = {
  ...process.env,
  NODE_OPTIONS:
    `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules --disable-warning=ExperimentalWarning`.trim(),
};
if (unit) env.VELOZ_BUNDLE_CHECK = 'off';
if (coverage) {
  rmSync('coverage', { recursive: true, force: true });
  env.VELOZ_BUNDLE_COVERAGE = bundleDir;
}
const jest = spawnSync(process.execPath, ['node_modules/jest/bin/jest.js', ...args], { stdio: 'inherit', env });
if (!coverage || jest.status !== 0) process.exit(jest.status ?? 1);

const { rows, lines } = await combinedCoverage(resolve('coverage/coverage-final.json'), bundleDir);
const weakest = rows
  .filter((r) => r.lines.total > 0)
  .sort((a, b) => a.lines.pct - b.lines.pct)
  .slice(0, 10);
console.log('\nLeast covered files (lines):');
for (const r of weakest) console.log(`  ${String(r.lines.pct).padStart(6)}%  ${r.file}`);
console.log(
  `\nLine coverage of actions/ and packages/shared (source and bundle tests together): ${lines.pct}% ` +
    `(${lines.covered} of ${lines.total} lines, ${rows.length} files; floor ${FLOOR}%)`,
);
if (lines.pct < FLOOR) process.exit(1);
