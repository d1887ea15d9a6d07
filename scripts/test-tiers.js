// The unit tier: every test file that runs in-process — no child process (bundle, kubectl, helm, git,
// Chromium), no real server (PostgreSQL, Redis, Prometheus, registry), so no dist/ rebuild either. It is
// read off each file's imports, so a new test lands in the right tier without a list to keep.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const OUT_OF_PROCESS = [
  /\brunActionBundle\b/, // a dist/ bundle as a child process
  /@veloz\/harness\/servers\//, // PostgreSQL, Redis Sentinel, Prometheus, the registry
  /node:child_process/,
  /\btoolPath\b/, // the real kubectl and helm
  /playwright/,
  /scripts\/demo\/main/, // the whole demo: bundles, PostgreSQL, Redis
  /\b(?:startCluster|startTestCluster|runCli|createFixtureRepo)\b/, // helpers that spawn those
];

function testFiles(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return testFiles(path);
      return name.endsWith('.test.ts') ? [path] : [];
    });
}

export function unitTestFiles(root = '__tests__') {
  return testFiles(root).filter((file) => {
    const text = readFileSync(file, 'utf8');
    return !OUT_OF_PROCESS.some((pattern) => pattern.test(text));
  });
}
