/**
 * What one pass of validate's checks measured, as the §4.1 decision (decision.ts) and the judgement
 * of sustained breaches (sustained.ts) read it: a module of its own so neither imports the other for it.
 */
import type { CumulativeBucket } from './stats';

/** The requests a pass measured: what happened in (at − spanMs, at]. */
export interface Traffic {
  /**
   * When the counts were read (ms since epoch), default the sample's scheduled time. Spans are chained
   * on these real times: a pass that runs late must not leave a hole between scheduled times.
   */
  end?: number;
  spanMs: number;
  requests: number;
  /** 5xx answers. */
  errors: number;
  /** Cumulative latency histogram of the same requests (seconds), when one was read. */
  buckets?: CumulativeBucket[];
}

/** One pass of the checks, reduced to what the criteria look at. */
export interface Sample {
  /** Scheduled time of the pass (ms since epoch). */
  at: number;
  /** Health endpoints: undefined when the health check did not run. */
  healthy?: boolean;
  /** Error rate as a fraction as the checks showed it, undefined when there was no data. */
  errorRate?: number;
  /** p99 latency in ms as the checks showed it, undefined when there was no data. */
  p99Ms?: number;
  /** Request counts behind this pass, undefined when none were measured. */
  traffic?: Traffic;
  /** Data-consistency check outcome, undefined when it did not run. */
  consistent?: boolean;
  /** User-impacting functional failures in this pass (check name -> what failed). */
  functionalFailures: Record<string, string>;
  /** Data-tier failures in this pass (postgres, redis -> what failed); absent in older samples. */
  dataTierFailures?: Record<string, string>;
}
