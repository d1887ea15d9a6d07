// Line coverage of actions/ and packages/shared from the source tests (Jest, V8) and the bundle tests
// (the dist/ bundles the harness ran, V8 coverage mapped back through dist/'s source maps), together.
import { mergeProcessCovs } from '@bcoe/v8-coverage';
import libCoverage from 'istanbul-lib-coverage';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8ToIstanbul from 'v8-to-istanbul';

const ROOT = resolve('.');
const OURS = /^(actions|cli\/src|packages\/shared\/src)\/.+\.ts$/;

/** Coverage of the bundles, from the raw V8 files the bundle processes wrote. */
async function bundleCoverage(dir) {
  const map = libCoverage.createCoverageMap({});
  if (!existsSync(dir)) return map;
  const processes = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')));
  const distUrl = `file://${join(ROOT, 'dist')}/`;
  const scripts = processes.map((p) => ({ result: p.result.filter((s) => s.url.startsWith(distUrl)) }));
  for (const script of mergeProcessCovs(scripts).result) {
    const path = fileURLToPath(script.url);
    if (!existsSync(`${path}.map`)) continue;
    // v8-to-istanbul asks about each source both as the map names it (relative to dist/) and resolved.
    const notOurs = (source) => !OURS.test(relative(ROOT, resolve(ROOT, 'dist', source)));
    const converter = v8ToIstanbul(path, 0, undefined, notOurs);
    await converter.load();
    converter.applyCoverage(script.functions);
    map.merge(converter.toIstanbul());
  }
  return map;
}

export async function combinedCoverage(sourceJson, bundleDir) {
  const map = libCoverage.createCoverageMap(existsSync(sourceJson) ? JSON.parse(readFileSync(sourceJson, 'utf8')) : {});
  map.merge(await bundleCoverage(bundleDir));
  const rows = [];
  const total = libCoverage.createCoverageSummary();
  for (const file of map.files()) {
    const rel = relative(ROOT, file);
    if (!OURS.test(rel)) continue;
    const summary = map.fileCoverageFor(file).toSummary();
    total.merge(summary);
    rows.push({ file: rel, lines: summary.lines });
  }
  return { rows: rows.sort((a, b) => a.file.localeCompare(b.file)), lines: total.lines };
}
