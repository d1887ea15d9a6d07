/**
 * An engine double in a child process of its own, as a real target is: a bench that measures waiting
 * (validation fan-out) must not share its CPU and event loop with the server it waits on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { EngineOptions, ScrapeTarget } from '@veloz/sandbox/engine/index';

export interface EngineProcess {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** For a Prometheus to scrape it. */
  target: ScrapeTarget;
  pid: number;
  stop(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('./engine-entry.ts', import.meta.url));
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5000;

export async function startEngineProcess(options: EngineOptions): Promise<EngineProcess> {
  // the bench runs under tsx: the child loads the same TypeScript through its loader
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, JSON.stringify(options)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  try {
    const first = await firstLine(child);
    const { url, target } = JSON.parse(first) as { url: string; target: ScrapeTarget };
    return { url, target, pid: child.pid!, stop: () => stopChild(child) };
  } catch (error) {
    await stopChild(child);
    throw error;
  }
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(
      () => fail(new Error(`engine process gave no URL in ${START_TIMEOUT_MS} ms`)),
      START_TIMEOUT_MS,
    );
    const fail = (error: Error): void => {
      clearTimeout(timer);
      lines.close();
      reject(error);
    };
    lines.once('line', (line) => {
      clearTimeout(timer);
      lines.close();
      resolve(line);
    });
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`engine process exited (${signal ?? code}) before it served`)));
  });
}

/** Closing stdin asks it to stop; SIGKILL if it has not exited within STOP_TIMEOUT_MS. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}
