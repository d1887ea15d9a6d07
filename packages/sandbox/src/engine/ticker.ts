/**
 * One timer for every engine in the process: a benchmark starts 200 pods, and 200 engines each with their own
 * timers would cost more than the work they do.
 */

export interface Tickable {
  tick(now: number): void;
}

export const TICK_MS = 250;

const members = new Set<Tickable>();
let timer: NodeJS.Timeout | undefined;

function tickAll(): void {
  const now = Date.now();
  for (const m of members) {
    try {
      m.tick(now);
    } catch {
      // One engine's failure must not starve the others of their ticks.
    }
  }
}

export function joinTicker(m: Tickable): void {
  members.add(m);
  if (!timer) {
    timer = setInterval(tickAll, TICK_MS);
    // The engines' servers keep the process alive while they run; the timer alone never should.
    timer.unref();
  }
}

export function leaveTicker(m: Tickable): void {
  members.delete(m);
  if (members.size === 0 && timer) {
    clearInterval(timer);
    timer = undefined;
  }
}
