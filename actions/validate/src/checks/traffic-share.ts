/**
 * What green really got (issue 28): through the production entrance (`url`, the Gateway), each pass
 * sends a batch of real requests and reads which version answered each (the `version-header`). Over
 * the window, green's observed share is set against the weight the canary put on the route, and green
 * is compared with blue on those same requests: error rate and p99 latency, side by side, same window.
 * A share far from the weight (outside what chance allows for that many requests, and by more than 2
 * points) is a warning naming both: the route is not doing what the canary set.
 */
import { type Check, defineCheck } from '@veloz/shared/checks';
import { formatLatency, ioTimeout, secretsOf, unreachable } from '@veloz/shared/endpoint-checks/common';
import { httpRequest, type HttpEndpoint } from '@veloz/shared/http/endpoint';

export interface TrafficShareOptions {
  /** Percent of requests the route sends to green (the canary's `canary-weight`). */
  weight: number;
  /** The version green runs (`canary-version`); every other version answering counts as blue. */
  greenVersion: string;
  header: string;
  requestsPerPass: number;
  path: string;
  timeoutMs: number;
}

/** At most this many requests in flight per pass: a probe, not a load test. */
const CONCURRENCY = 10;
/** Latency samples kept per side: the window's p99 without memory that grows with the window. */
const LATENCY_SAMPLES = 2000;
/** Below this, a share says little; reported, never judged. */
const MIN_REQUESTS = 200;

class Side {
  requests = 0;
  errors = 0;
  private readonly latencies: number[] = [];
  private seen = 0;

  add(ok: boolean, ms: number): void {
    this.requests++;
    if (!ok) this.errors++;
    // reservoir sampling: every request has the same chance to be kept, the array never grows past the cap
    this.seen++;
    if (this.latencies.length < LATENCY_SAMPLES) this.latencies.push(ms);
    else {
      const slot = Math.floor(Math.random() * this.seen);
      if (slot < LATENCY_SAMPLES) this.latencies[slot] = ms;
    }
  }

  get errorRate(): number {
    return this.requests === 0 ? 0 : this.errors / this.requests;
  }

  get p99(): number | undefined {
    if (this.latencies.length === 0) return undefined;
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)];
  }

  describe(): string {
    const p99 = this.p99;
    return `${(100 * this.errorRate).toFixed(2)}% errors, p99 ${p99 === undefined ? 'n/a' : formatLatency(p99)} over ${this.requests}`;
  }
}

/** Whether an observed share is further from the weight than chance explains (≈ 3.3 σ) and by > 2 points. */
export function shareIsOff(observedPct: number, weightPct: number, requests: number): boolean {
  const p = weightPct / 100;
  const sigmaPct = 100 * Math.sqrt((p * (1 - p)) / Math.max(1, requests));
  const gap = Math.abs(observedPct - weightPct);
  return gap > 2 && gap > 3.3 * sigmaPct;
}

export function trafficShareCheck(endpoint: HttpEndpoint, o: TrafficShareOptions): Check {
  const green = new Side();
  const blue = new Side();
  const threshold = `green's share within chance and 2 points of the route's ${o.weight}%`;
  return defineCheck('traffic-share', `Traffic share (route weight ${o.weight}%)`, o.timeoutMs, async ({ signal }) => {
    const errors: unknown[] = [];
    await inBatches(o.requestsPerPass, CONCURRENCY, async () => {
      try {
        const r = await httpRequest(endpoint, {
          path: o.path,
          timeoutMs: ioTimeout(o.timeoutMs),
          signal,
          maxBodyBytes: 64 * 1024,
        });
        const version = headerOf(r.headers[o.header.toLowerCase()]);
        (version === o.greenVersion ? green : blue).add(r.status < 500, r.durationMs);
      } catch (error) {
        errors.push(error);
      }
    });
    if (errors.length === o.requestsPerPass) {
      const detail = unreachable(endpoint, o.path, errors[0], signal, secretsOf(endpoint));
      return { status: 'fail', observed: 'no answer', threshold, detail };
    }
    return judge(green, blue, o, threshold);
  });
}

function judge(green: Side, blue: Side, o: TrafficShareOptions, threshold: string) {
  const total = green.requests + blue.requests;
  const share = total === 0 ? 0 : (100 * green.requests) / total;
  const observed = `green ${share.toFixed(1)}% of ${total} requests (weight ${o.weight}%)`;
  const data = {
    weight: o.weight,
    share,
    requests: total,
    green: { requests: green.requests, errorRate: green.errorRate, p99Ms: green.p99 },
    blue: { requests: blue.requests, errorRate: blue.errorRate, p99Ms: blue.p99 },
  };
  const comparison = `Same requests, same window — green ${o.greenVersion}: ${green.describe()}; blue: ${blue.describe()}.`;
  if (total >= MIN_REQUESTS && shareIsOff(share, o.weight, total)) {
    return {
      status: 'warn' as const,
      observed,
      threshold,
      detail: `Green served ${share.toFixed(1)}% of requests but the route's weight is ${o.weight}%: the HTTPRoute does not split traffic as the canary set it (another controller or a stale Gateway?). Check \`kubectl get httproute -o yaml\` and the Gateway's status. ${comparison}`,
      data,
    };
  }
  return { status: 'pass' as const, observed, threshold, detail: comparison, data };
}

function headerOf(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

async function inBatches(n: number, limit: number, send: () => Promise<void>): Promise<void> {
  let started = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      while (started < n) {
        started++;
        await send();
      }
    }),
  );
}
