/**
 * A monitoring window's memory stays flat (bench figure 9). Node 24 lets V8 grow its young generation
 * with the allocation rate, up to 64 MiB semi-spaces: in a 5-minute window at 1 s that growth was the
 * whole rise in RSS (V8's heap 37 → 91 MiB reserved while the live heap stayed at 20–27 MiB). A pass a
 * second needs no such throughput, so before anything else a validate step with a window re-executes
 * itself — the same process, stdio and environment — with the young generation bounded.
 */
import { parseDuration } from '@veloz/shared/parse';

const MARK = 'VELOZ_YOUNG_GENERATION_BOUNDED';
export const SEMI_SPACE_MIB = 8;

type Execve = (file: string, args: string[], env: NodeJS.ProcessEnv) => never;

/** Whether `duration` asks for a window, by the one duration grammar (a bad value is reported by the step). */
export function windowRequested(duration: string | undefined): boolean {
  try {
    return parseDuration(duration ?? '') > 0;
  } catch {
    return false;
  }
}

export function boundYoungGeneration(env: NodeJS.ProcessEnv = process.env): void {
  const execve = (process as { execve?: Execve }).execve;
  if (env[MARK] || !windowRequested(env.INPUT_DURATION) || typeof execve !== 'function') return;
  execve.call(
    process,
    process.execPath,
    [process.execPath, `--max-semi-space-size=${SEMI_SPACE_MIB}`, ...process.execArgv, ...process.argv.slice(1)],
    { ...env, [MARK]: '1' },
  );
}
