/** The engine's current profile: which faults apply at a given moment, and the latency model they imply. */
import type { DegradeSpec } from './degrade';
import { HEALTHY_LATENCY, latencyForP99, type LatencyDistribution } from './latency';

export class Behaviour {
  private spec: DegradeSpec | undefined;
  private appliedAt: number;
  private distribution: LatencyDistribution = HEALTHY_LATENCY;

  constructor(spec: DegradeSpec | undefined, now: number) {
    this.appliedAt = now;
    this.set(spec, now);
  }

  /** `after=` counts from this call: flipping a running pod to `degrade:after=20s` degrades it 20 s later. */
  set(spec: DegradeSpec | undefined, now: number): void {
    this.spec = spec;
    this.appliedAt = now;
    this.distribution = spec?.p99Ms !== undefined ? latencyForP99(spec.p99Ms / 1000) : HEALTHY_LATENCY;
  }

  /** The profile as set, active or still waiting for `after`. */
  get profile(): DegradeSpec | undefined {
    return this.spec;
  }

  /** When the faults start (or started); undefined for a healthy profile. */
  get activeFrom(): number | undefined {
    return this.spec ? this.appliedAt + this.spec.afterMs : undefined;
  }

  /** The faults in force at `now`, or undefined while healthy. */
  active(now: number): DegradeSpec | undefined {
    const from = this.activeFrom;
    return from !== undefined && now >= from ? this.spec : undefined;
  }

  latency(now: number): LatencyDistribution {
    return this.active(now) ? this.distribution : HEALTHY_LATENCY;
  }
}
