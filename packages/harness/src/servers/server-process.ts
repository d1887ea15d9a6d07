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

// Each tracked child with the signal that stops it cleanly (PostgreSQL: SIGINT, its fast shutdown).
const live = new Map<ChildProcess, NodeJS.Signals>();
let hooked = false;

/**
 * Tracks a child this process started, so nothing it started outlives it: killed on exit if stop()
 * never ran (a crashed suite), and by killAllChildren() on a failure or a signal (the demo, the bench).
 * A child that could not be spawned (ENOENT) becomes an exit, not an unhandled 'error' that kills us.
 * Returns an unregister function for a clean stop.
 */
export function killOnExit(child: ChildProcess, stopSignal: NodeJS.Signals = 'SIGTERM'): () => void {
  live.set(child, stopSignal);
  if (!hooked) {
    hooked = true;
    process.once('exit', () => {
      for (const c of live.keys()) kill(c, 'SIGKILL');
    });
  }
  child.once('error', () => live.delete(child));
  child.once('exit', () => live.delete(child));
  return () => live.delete(child);
}

function kill(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    child.kill(signal);
  } catch {
    // already gone
  }
}

/** The children started through killOnExit that are still running. */
export function liveChildren(): number {
  return live.size;
}

/** Stops every tracked child (its stop signal, then SIGKILL after `graceMs`) and resolves once all are gone. */
export async function killAllChildren(graceMs = 3000): Promise<void> {
  await Promise.all([...live].map(([child, signal]) => stopChild(child, signal, graceMs)));
}

/**
 * For a command-line entry (the demo, the bench): SIGINT or SIGTERM runs `cleanup` for at most
 * `boundMs`, kills whatever is left, and exits 128 + the signal's number, so Ctrl-C never leaves a
 * PostgreSQL or Redis behind. A second signal skips the cleanup.
 */
export function stopOnSignals(cleanup: () => Promise<void>, boundMs = 10_000): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    const code = signal === 'SIGINT' ? 130 : 143;
    if (stopping) {
      for (const c of live.keys()) kill(c, 'SIGKILL');
      process.exit(code);
    }
    stopping = true;
    process.stderr.write(`\n${signal}: stopping everything this run started…\n`);
    const bound = new Promise<void>((resolve) => setTimeout(resolve, boundMs).unref());
    void Promise.race([cleanup().catch(() => undefined), bound])
      .then(() => killAllChildren(1000))
      .finally(() => process.exit(code));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** True while `child` runs; throws "<what> exited …" (which ends a waitFor at once) when it does not. */
export function throwIfExited(child: ChildProcess | undefined, what: string): true {
  if (child && child.pid !== undefined && child.exitCode === null && child.signalCode === null) return true;
  const how = child?.pid === undefined ? 'could not be started' : `exit ${child.exitCode ?? child.signalCode}`;
  throw new Error(`${what} exited (${how}: ${child?.spawnfile ?? 'no process'})`);
}

/** Sends `signal`, escalates to SIGKILL after `graceMs`, resolves when the process has exited. */
export async function stopChild(
  child: ChildProcess | undefined,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 5000,
): Promise<void> {
  // no pid: it never started (ENOENT), so there is no exit to wait for
  if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

type Stoppable = { stop(): Promise<void> };

/**
 * Starts servers side by side. Unlike Promise.all, when one start fails the others are awaited and
 * the ones that did start are stopped before the first error is thrown: none is left running.
 */
export async function startTogether<T extends readonly Promise<Stoppable>[]>(
  starts: readonly [...T],
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(starts);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(
      settled.map((r) => (r.status === 'fulfilled' ? r.value.stop().catch(() => undefined) : undefined)),
    );
    throw failed.reason;
  }
  return settled.map((r) => (r as PromiseFulfilledResult<Stoppable>).value) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
}
