/**
 * A monitoring window's memory stays flat (bench figure 9). Two runtime defaults made a pass a second
 * cost more memory at minute 14 than at minute 1 while the live JS heap stayed flat (heap snapshots at
 * minutes 1.5 and 7.5: 30.2 and 28.3 MiB):
 * - Node 24 lets V8 grow its young generation with the allocation rate, up to 64 MiB semi-spaces: in a
 *   5-minute window that was the whole rise in RSS (V8's heap 37 → 91 MiB reserved, live 20–27 MiB);
 * - glibc gives threads that allocate (V8's GC and compiler workers, libuv's pool) arenas of their own
 *   and keeps what is freed there: over 14 minutes its thread arenas grew 6.6 → 11.2 MiB, 1.9 → 4.9
 *   with two arenas in all; with one, the main arena alone, they do not exist (/proc/<pid>/smaps).
 * A monitor making one pass a second needs neither the throughput nor the parallel allocation, so
 * before anything else a validate step with a window re-executes itself (the same process, stdio and
 * environment) with both bounded. glibc reads MALLOC_ARENA_MAX only at start, hence the re-execution;
 * a value the user set is kept.
 */
import { parseDuration } from '@veloz/shared/parse';

const MARK = 'VELOZ_WINDOW_MEMORY_BOUNDED';
export const SEMI_SPACE_MIB = 8;
export const MALLOC_ARENAS = 1;

type Execve = (file: string, args: string[], env: NodeJS.ProcessEnv) => never;

/** Whether `duration` asks for a window, by the one duration grammar (a bad value is reported by the step). */
export function windowRequested(duration: string | undefined): boolean {
  try {
    return parseDuration(duration ?? '') > 0;
  } catch {
    return false;
  }
}

export function boundWindowMemory(env: NodeJS.ProcessEnv = process.env): void {
  const execve = (process as { execve?: Execve }).execve;
  if (env[MARK] || !windowRequested(env.INPUT_DURATION) || typeof execve !== 'function') return;
  execve.call(
    process,
    process.execPath,
    [process.execPath, `--max-semi-space-size=${SEMI_SPACE_MIB}`, ...process.execArgv, ...process.argv.slice(1)],
    { MALLOC_ARENA_MAX: String(MALLOC_ARENAS), ...env, [MARK]: '1' },
  );
}
