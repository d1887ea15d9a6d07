/**
 * Runbook §3.1 `curl -f …/health`, `/health/ready`, `/health/startup`: each path must answer 2xx. A failing
 * pass feeds §4.1 "health check failures > 3 consecutive" through `data.healthy`.
 */
import { type Check, defineCheck } from '../checks';
import { httpRequest, type HttpEndpoint } from '../http/endpoint';
import { formatLatency, ioTimeout, isOk, secretsOf, statusLine, unreachable } from './common';

interface HealthCheckOptions {
  paths: readonly string[];
  timeoutMs: number;
}

interface PathHealth {
  path: string;
  /** Undefined when there was no answer. */
  status?: number;
  latencyMs?: number;
  /** Why it failed, one line. */
  failure?: string;
}

export function healthCheck(endpoint: HttpEndpoint, opts: HealthCheckOptions): Check {
  const secrets = secretsOf(endpoint);
  return defineCheck('health', 'Health endpoints', opts.timeoutMs, async ({ signal }) => {
    const results = await Promise.all(
      opts.paths.map(async (path): Promise<PathHealth> => {
        try {
          const res = await httpRequest(endpoint, { path, timeoutMs: ioTimeout(opts.timeoutMs), signal });
          const latencyMs = Math.round(res.durationMs);
          if (isOk(res.status)) return { path, status: res.status, latencyMs };
          return { path, status: res.status, latencyMs, failure: `${path} answered ${statusLine(res, secrets)}` };
        } catch (err) {
          return { path, failure: unreachable(endpoint, path, err, signal, secrets) };
        }
      }),
    );
    const failures = results.flatMap((r) => (r.failure ? [r.failure] : []));
    const observed = results
      .map(
        (r) =>
          `${r.path} ${r.status ?? 'no answer'}${r.latencyMs === undefined ? '' : ` (${formatLatency(r.latencyMs)})`}`,
      )
      .join(', ');
    const healthy = failures.length === 0;
    return {
      status: healthy ? 'pass' : 'fail',
      observed,
      threshold: `2xx from ${opts.paths.join(', ')}`,
      detail: healthy ? undefined : explain(results, failures, endpoint),
      data: { healthy, failures, paths: results },
    };
  });
}

function explain(results: readonly PathHealth[], failures: readonly string[], ep: HttpEndpoint): string {
  // The server is down for every path alike: say it once.
  const lines =
    results.length > 1 && results.every((r) => r.status === undefined)
      ? [`${failures[0]} (every health path alike)`]
      : failures;
  return `${lines.join('\n')}\nNext: read the events and logs of the pod behind ${ep.describe} (kubectl describe pod, kubectl logs).`;
}
