/**
 * The engine's own background traffic: requests recorded straight into the metrics (no sockets), so dashboards
 * and Prometheus queries have data without external load, and they show the current profile's error rate and
 * latency.
 */
import type { Behaviour } from './behaviour';
import { EvenHits, LatencySampler } from './latency';
import type { ApiRoute, EngineMetrics } from './metrics';
import { poisson, type Rng } from './noise';

/** Route mix of ten consecutive requests: mostly reads, some order placement. */
const MIX: readonly ApiRoute[] = [
  '/api/market',
  '/api/orders_state',
  '/api/market',
  '/api/market',
  '/api/order',
  '/api/market',
  '/api/orders_state',
  '/api/market',
  '/api/orders_state',
  '/api/market',
];

/** After a long stall (suspended laptop, debugger) catch up at most this much instead of a burst of hours. */
const MAX_CATCH_UP_MS = 10_000;

export class SyntheticTraffic {
  private emitted = 0;
  private origin: number;
  private last: number;
  private readonly latencies = new LatencySampler();
  private readonly errors = new EvenHits();

  constructor(
    private readonly perSecond: number,
    now: number,
  ) {
    this.origin = now;
    this.last = now;
  }

  /** Records every request due since the last call, so the rate holds whatever the timer's jitter. */
  run(now: number, behaviour: Behaviour, metrics: EngineMetrics): void {
    const rng = behaviour.random;
    if (rng) return this.runRandom(now, behaviour, metrics, rng);
    this.last = now;
    const perSecond = behaviour.profile?.rps ?? this.perSecond;
    if (perSecond <= 0) return;
    if (now - this.origin > MAX_CATCH_UP_MS + (this.emitted / perSecond) * 1000) {
      this.origin = now - MAX_CATCH_UP_MS;
      this.emitted = 0;
    }
    const due = Math.floor(((now - this.origin) / 1000) * perSecond) - this.emitted;
    if (due <= 0) return;
    const faults = behaviour.active(now);
    const latency = behaviour.latency(now);
    for (let i = 0; i < due; i++) {
      const route = MIX[(this.emitted + i) % MIX.length] as ApiRoute;
      let code = 200;
      if (faults?.errorRate && this.errors.hit(faults.errorRate)) code = 500;
      else if (route === '/api/order' && faults?.orders) code = faults.orders === 'reject' ? 422 : 500;
      metrics.observe(route, code, this.latencies.next(latency));
    }
    this.emitted += due;
  }

  /** `noise=random`: Poisson arrivals since the last tick, each failing with the profile's probability. */
  private runRandom(now: number, behaviour: Behaviour, metrics: EngineMetrics, rng: Rng): void {
    const perSecond = behaviour.profile?.rps ?? this.perSecond;
    const elapsed = Math.min(MAX_CATCH_UP_MS, Math.max(0, now - this.last));
    this.last = now;
    // Keep the even clock in step, so switching back to noise=none does not replay the whole interval.
    this.origin = now;
    this.emitted = 0;
    if (perSecond <= 0 || elapsed === 0) return;
    const arrivals = poisson(rng, (perSecond * elapsed) / 1000);
    const faults = behaviour.active(now);
    for (let i = 0; i < arrivals; i++) {
      const route = MIX[Math.floor(rng.next() * MIX.length)] as ApiRoute;
      let code = 200;
      if (faults?.errorRate && rng.next() < faults.errorRate) code = 500;
      else if (route === '/api/order' && faults?.orders) code = faults.orders === 'reject' ? 422 : 500;
      metrics.observe(route, code, behaviour.randomLatency(now, rng));
    }
  }
}
