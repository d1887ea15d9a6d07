/**
 * What every figure shares: summary statistics, a timed child process, and the report section model
 * that bench/report.ts renders into BENCHMARKS.md.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { minifyChunk } from '../scripts/minify-chunk.js';
import { join, resolve } from 'node:path';

/** One figure of BENCHMARKS.md: a table, the goal and whether it was met, and how it was measured. */
export interface Section {
  /** Stable key (`startup`, `api-economy`, ...) the smoke test looks for. */
  key: string;
  title: string;
  /** The goal in words, e.g. "≤ 1.8× bare node and ≤ 55 MiB". Empty when the figure has none. */
  goal: string;
  /** true/false when judged; undefined when the goal cannot be judged from this run. */
  met?: boolean;
  /** Why the goal was (not) met, in one or two sentences with the deciding numbers. */
  verdict: string;
  tables: Table[];
  /** How it was measured (a paragraph), and anything that could not be measured. */
  method: string;
  notes?: string[];
}

/** Figures that deploy: how many measured runs, each on a fresh sandbox with this pod start-up delay. */
export interface RepeatedRuns {
  repeats: number;
  podStartupDelayMs: number;
}

/**
 * `repeats` rounds, each running every mode once in turn: alternating, so a machine that slows down
 * during the figure slows every mode alike.
 */
export async function alternating<M extends string, S>(
  figure: string,
  modes: readonly M[],
  repeats: number,
  once: (mode: M) => Promise<S>,
): Promise<Record<M, S[]>> {
  const samples = Object.fromEntries(modes.map((m) => [m, [] as S[]])) as Record<M, S[]>;
  for (let i = 0; i < repeats; i++) {
    for (const mode of modes) {
      progress(`${figure}: ${mode} ${i + 1}/${repeats}`);
      samples[mode].push(await once(mode));
    }
  }
  return samples;
}

export interface Table {
  caption?: string;
  columns: string[];
  rows: string[][];
}

export interface Stats {
  n: number;
  median: number;
  min: number;
  max: number;
}

export function stats(values: readonly number[]): Stats {
  if (values.length === 0) return { n: 0, median: Number.NaN, min: Number.NaN, max: Number.NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { n: sorted.length, median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/** Milliseconds as "12.3 ms" below 10 s, "12.3 s" above. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return '—';
  if (Math.abs(value) >= 10_000) return `${(value / 1000).toFixed(1)} s`;
  if (Math.abs(value) >= 100) return `${value.toFixed(0)} ms`;
  return `${value.toFixed(1)} ms`;
}

export function ratio(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return value >= 10 ? `${value.toFixed(0)}×` : `${value.toFixed(2)}×`;
}

export function mib(kib: number): string {
  return Number.isFinite(kib) ? `${(kib / 1024).toFixed(1)} MiB` : '—';
}

/** "median (min–max)" in milliseconds. */
export function spread(s: Stats, format: (v: number) => string = ms): [string, string, string] {
  return [format(s.median), format(s.min), format(s.max)];
}

export interface Timed {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** performance.now() at spawn and at 'close'. */
  start: number;
  end: number;
}

/** Runs a command (argv, no shell) and records when it started and when it exited, on this process's clock. */
export function timedRun(
  bin: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; onLine?: (line: string, at: number) => void } = {},
): Promise<Timed> {
  return new Promise((resolvePromise, reject) => {
    const start = performance.now();
    const child = spawn(bin, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (!options.onLine) return;
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) options.onLine(line, performance.now());
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const end = performance.now();
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr, start, end });
    });
  });
}

/**
 * Bundles a bench probe entry (bench/*-entry.ts) with ncc, minified the way dist/ is, into `out`.
 * Returns the entry path, or undefined with the reason when ncc is not available.
 */
export async function buildProbe(source: string, out: string): Promise<{ entry?: string; why?: string }> {
  const ncc = resolve('node_modules/@vercel/ncc/dist/ncc/cli.js');
  if (!existsSync(ncc)) return { why: '@vercel/ncc is not installed' };
  const r = await timedRun(process.execPath, [
    ncc,
    'build',
    source,
    '-o',
    out,
    '--minify',
    '--transpile-only',
    '--quiet',
  ]);
  if (r.code !== 0) return { why: `ncc failed: ${r.stderr.trim().split('\n').pop()}` };
  // as dist/ is built: ncc leaves split chunks (the Kubernetes client's) unminified
  for (const file of (await readdir(out)).filter((f) => /^\d+\.index\.js$/.test(f))) {
    const { code } = await minifyChunk(await readFile(join(out, file), 'utf8'));
    if (code !== undefined) await writeFile(join(out, file), code);
  }
  return { entry: join(out, 'index.js') };
}

export const sleep = (millis: number): Promise<void> => new Promise((r) => setTimeout(r, millis));

/** Progress on stderr, so `npm run bench` shows what it is doing without touching the report. */
export function progress(message: string): void {
  process.stderr.write(`[bench +${(performance.now() / 1000).toFixed(0)}s] ${message}\n`);
}
