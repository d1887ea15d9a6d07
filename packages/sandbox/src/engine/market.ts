/**
 * Simulated market data. Prices are a pure function of time (sums of slow waves), so nothing needs updating on
 * a timer and idle engines cost nothing.
 */

export interface Quote {
  symbol: string;
  price: number;
  bid: number;
  ask: number;
  ts: number;
}

const BASES: Record<string, number> = { BTCUSDT: 50_000, ETHUSDT: 3_000, SOLUSDT: 150 };
export const SYMBOLS = Object.keys(BASES);

export function quote(symbol: string, now: number, phase: number): Quote {
  const base = BASES[symbol] ?? 100;
  const t = now / 1000 + phase;
  const drift = 0.004 * Math.sin(t / 37) + 0.0015 * Math.sin(t / 5.3) + 0.0004 * Math.sin(t * 1.7);
  const price = round(base * (1 + drift));
  const half = round(base * 0.00005);
  return { symbol, price, bid: round(price - half), ask: round(price + half), ts: now };
}

export function snapshot(now: number, phase: number): Quote[] {
  return SYMBOLS.map((s) => quote(s, now, phase));
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
