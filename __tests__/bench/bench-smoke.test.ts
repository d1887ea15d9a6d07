/**
 * Keeps the bench from rotting: runs `bench/run.ts --quick` (one start-up round, the API-economy figure)
 * into a temp file and checks the report has those sections with numbers in them. No timing is asserted.
 */
import { expect, test } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The body of one `## …` section, found by its `<!-- section:key -->` marker. */
function section(report: string, key: string): string {
  const start = report.indexOf(`<!-- section:${key} -->`);
  if (start < 0) return '';
  const next = report.indexOf('\n## ', start);
  return report.slice(start, next < 0 ? undefined : next);
}

/** Data rows of the markdown tables in a section. */
function tableRows(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| ---'))
    .slice(1)
    .map((l) =>
      l
        .slice(2, -2)
        .split(' | ')
        .map((c) => c.trim()),
    );
}

test('bench --quick writes a report with start-up and API-economy figures', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'veloz-bench-smoke-'));
  const out = join(dir, 'BENCHMARKS.md');
  try {
    await execFileAsync(resolve('node_modules/.bin/tsx'), ['bench/run.ts', '--quick', '--out', out], {
      timeout: 240_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    const report = await readFile(out, 'utf8');

    expect(report).toMatch(/^# Benchmarks/);
    expect(report).toMatch(/CPU: \S+/);
    expect(report).toMatch(/Node running the bench: v\d+\.\d+\.\d+/);
    expect(report).toContain('**Method.**');

    const startup = section(report, 'startup');
    expect(report).toContain('## 1. Start-up');
    expect(startup).toContain('**Goal:**');
    const startupRows = tableRows(startup);
    for (const action of ['preflight', 'canary', 'validate', 'rollback']) {
      const row = startupRows.find((r) => r[1] === action);
      expect(row).toBeDefined();
      expect(row![2]).toMatch(/^\d+(\.\d+)? m?s$/); // median
      expect(row![5]).toMatch(/^\d+(\.\d+)?×$/); // ratio to node -e 0
      expect(row![7]).toMatch(/^\d+(\.\d+)? MiB$/); // peak RSS
    }

    const economy = section(report, 'api-economy');
    expect(report).toContain('## 6. API economy');
    expect(economy).toContain('**Method.**');
    const economyRows = tableRows(economy);
    for (const phase of ['canary', 'promote', 'rollback']) {
      const row = economyRows.find((r) => r[1] === phase);
      expect(row).toBeDefined();
      expect(Number(row![2])).toBeGreaterThan(0); // our requests
      expect(Number(row![5])).toBeGreaterThan(0); // kubectl + helm requests
      expect(row![8]).toMatch(/^\d+(\.\d+)?×$/);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 300_000);
