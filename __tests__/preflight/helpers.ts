/** Runs one check the way the runner does (signal + clock), without the runner. */
import { chmod, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Check, CheckOutcome } from '@veloz/shared/checks';
import { systemClock, type Clock } from '@veloz/shared/clock';

export async function runCheck(
  check: Check,
  opts: { clock?: Clock; abortAfterMs?: number } = {},
): Promise<CheckOutcome> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('check timed out')), opts.abortAfterMs ?? check.timeoutMs);
  try {
    return await check.run({ signal: controller.signal, clock: opts.clock ?? systemClock });
  } finally {
    clearTimeout(timer);
  }
}

/** Text a person would read: a stack trace must never appear in it. */
export function outcomeText(o: CheckOutcome): string {
  return JSON.stringify(o);
}

export function expectNoStack(o: CheckOutcome): void {
  const text = `${o.observed ?? ''}\n${o.detail ?? ''}`;
  if (/\n\s+at |\bat .*\(.*:\d+:\d+\)/.test(text)) throw new Error(`stack trace in outcome: ${text}`);
}

/** A TCP server that accepts connections and never says a word: the "hanging server". */
export async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** An executable /bin/sh script in `dir`: stands in for the runbook's backup and restore scripts. */
export async function writeScript(dir: string, name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}
