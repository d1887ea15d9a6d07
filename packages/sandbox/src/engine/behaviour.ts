/** The engine's current profile: which faults apply at a given moment, and the latency model they imply. */
import type { DegradeSpec } from './degrade';
import { HEALTHY_LATENCY, latencyForP99, sampleLatency, type LatencyDistribution } from './latency';
import { Rng, sampleLogNormal, type LogNormal } from './noise';

/** A healthy engine's p99 and median under `noise=random` (the even model's figures, see latency.ts). */
const HEALTHY_P99_S = 0.047;
const DEFAULT_MEDIAN_S = 0.007;

export class Behaviour {
  private spec: DegradeSpec | undefined;
  private appliedAt: number;
  private distribution: LatencyDistribution = HEALTHY_LATENCY;
  private logNormal: LogNormal | undefined;
  private healthyLogNormal: LogNormal = { median: DEFAULT_MEDIAN_S, p99: HEALTHY_P99_S };
  /** Set under `noise=random`: every draw of errors, latency and arrivals comes from it. */
  random: Rng | undefined;

  constructor(spec: DegradeSpec | undefined, now: number) {
    this.appliedAt = now;
    this.set(spec, now);
  }

  /** `after=` counts from this call: flipping a running pod to `degrade:after=20s` degrades it 20 s later. */
  set(spec: DegradeSpec | undefined, now: number): void {
    this.spec = spec;
    this.appliedAt = now;
    this.distribution = spec?.p99Ms !== undefined ? latencyForP99(spec.p99Ms / 1000) : HEALTHY_LATENCY;
    this.random = spec?.noise === 'random' ? new Rng(spec.seed ?? Math.floor(Math.random() * 2 ** 32)) : undefined;
    const median = spec?.medianMs !== undefined ? spec.medianMs / 1000 : DEFAULT_MEDIAN_S;
    this.healthyLogNormal = { median, p99: Math.max(HEALTHY_P99_S, median * 2) };
    this.logNormal = spec?.p99Ms !== undefined ? { median, p99: spec.p99Ms / 1000 } : undefined;
  }

  /** The profile as set, active or still waiting for `after`. */
  get profile(): DegradeSpec | undefined {
    return this.spec;
  }

  /** When the faults start (or started); undefined for a healthy profile. */
  get activeFrom(): number | undefined {
    return this.spec ? this.appliedAt + this.spec.afterMs : undefined;
  }

  /** The faults in force at `now` (inside a burst, when the profile has bursts), or undefined while healthy. */
  active(now: number): DegradeSpec | undefined {
    const from = this.activeFrom;
    if (from === undefined || now < from) return undefined;
    const burst = this.spec?.burst;
    if (burst && (now - from) % burst.periodMs >= burst.onMs) return undefined;
    return this.spec;
  }

  latency(now: number): LatencyDistribution {
    return this.active(now) ? this.distribution : HEALTHY_LATENCY;
  }

  /** One latency in seconds under `noise=random`: log-normal with the profile's median and p99. */
  randomLatency(now: number, rng: Rng): number {
    const d = this.active(now) && this.logNormal ? this.logNormal : this.healthyLogNormal;
    if (!this.logNormal && this.spec?.medianMs === undefined) return sampleLatency(this.latency(now), rng.next());
    return sampleLogNormal(rng, d);
  }
}
