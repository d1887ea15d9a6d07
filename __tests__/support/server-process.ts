/** Small helpers shared by the real-server fixtures (postgres, redis, registry). */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

// Below Linux's ephemeral range (32768+): a port reserved here and bound a moment later by a server
// cannot meanwhile become some outgoing connection's source port or another listen(0)'s pick.
const RESERVED_LOW = 20_000;
const RESERVED_HIGH = 32_767;

/** A free TCP port on 127.0.0.1 outside the ephemeral range (checked by binding it; released at once). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = RESERVED_LOW + Math.floor(Math.random() * (RESERVED_HIGH - RESERVED_LOW));
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port in ${RESERVED_LOW}-${RESERVED_HIGH} after 50 tries`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export async function waitFor(
  probe: () => Promise<boolean> | boolean,
  opts: { timeoutMs: number; intervalMs?: number; what: string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await probe()) return;
      last = undefined;
    } catch (e) {
      last = e;
      // A probe that throws a "fatal" error (process exited) should stop the wait at once.
      if (e instanceof Error && /exited/.test(e.message)) throw e;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${opts.timeoutMs} ms waiting for ${opts.what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}

const live = new Set<ChildProcess>();
let hooked = false;

/**
 * Kills the child if the test process exits without stop() (a crashed suite must not leave servers
 * behind). Returns an unregister function for a clean stop.
 */
export function killOnExit(child: ChildProcess): () => void {
  live.add(child);
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of live) {
        try {
          c.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
    });
  }
  child.once('exit', () => live.delete(child));
  return () => live.delete(child);
}

/** Sends `signal`, escalates to SIGKILL after `graceMs`, resolves when the process has exited. */
export async function stopChild(
  child: ChildProcess | undefined,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 5000,
): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}
