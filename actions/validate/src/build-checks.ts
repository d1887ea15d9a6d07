/** The checks of one validation pass, built once from the settings and the resolved engine. */
import type { Check } from '@veloz/shared/checks';
import { postgresCheck } from '@veloz/shared/data-tier/postgres';
import { redisCheck } from '@veloz/shared/data-tier/redis';
import { healthCheck } from '@veloz/shared/endpoint-checks/health';
import { urlEndpoint } from '@veloz/shared/http/endpoint';
import { BASELINE_CHECK, resolveBaseline } from './baseline';
import { consistencyCheck } from './checks/consistency';
import { logsCheck } from './checks/logs';
import { metricsCheck, type ScrapeHolder } from './checks/metrics';
import { orderCheck } from './checks/order';
import { sloCheck } from './checks/slo';
import { smokeCheck } from './checks/smoke';
import { sseCheck } from './checks/sse';
import { trafficShareCheck } from './checks/traffic-share';
import { websocketCheck } from './checks/websocket';
import type { ResolvedTarget } from './engine-endpoint';
import type { ValidateCheckName, ValidateSettings } from './inputs';

/** Every selected check, plus the baseline's metrics when a baseline is set (throws when it cannot be found). */
export async function buildChecks(
  settings: Readonly<ValidateSettings>,
  target: ResolvedTarget,
  since: number,
): Promise<Check[]> {
  const holder: ScrapeHolder = {};
  const checks = settings.checks.map((name) => buildCheck(name, settings, target, holder, since));
  if (settings.baseline) {
    const baseline = await resolveBaseline(settings, target);
    // The canary's own scrapes feed the comparison, so both sides are measured in the same passes.
    if (!settings.checks.includes('metrics')) checks.push(buildCheck('metrics', settings, target, holder, since));
    const check = metricsCheck(baseline, {
      prefix: settings.metricsPrefix,
      timeoutMs: settings.checkTimeoutMs,
      holder: {},
    });
    checks.push({ ...check, name: BASELINE_CHECK, title: `Baseline metrics (${baseline.describe})` });
  }
  return checks;
}

function buildCheck(
  name: ValidateCheckName,
  s: Readonly<ValidateSettings>,
  target: ResolvedTarget,
  holder: ScrapeHolder,
  since: number,
): Check {
  const ep = target.endpoint;
  const timeoutMs = s.checkTimeoutMs;
  switch (name) {
    case 'health':
      return healthCheck(ep, { paths: s.healthPaths, timeoutMs });
    case 'smoke':
      return smokeCheck(ep, { assertions: s.smoke, timeoutMs });
    case 'metrics':
      return metricsCheck(ep, { prefix: s.metricsPrefix, timeoutMs, holder, thresholds: s.thresholds });
    case 'order':
      return orderCheck(ep, { token: s.testToken ?? '', order: s.order, timeoutMs });
    case 'sse':
      return sseCheck(ep, { minEvents: s.sse.minEvents, timeoutMs: s.sse.timeoutMs });
    case 'websocket':
      return websocketCheck(ep, { timeoutMs: s.websocketTimeoutMs });
    case 'slo':
      return sloCheck(urlEndpoint(s.slo!.prometheusUrl), {
        slo: s.slo!,
        selector: target.selector,
        timeoutMs,
        traffic: {
          requestsMetric: `${s.metricsPrefix}http_requests_total`,
          durationMetric: `${s.metricsPrefix}http_request_duration_seconds`,
        },
      });
    case 'logs':
      return logsCheck(target.kube!, {
        namespace: s.target.namespace,
        pods: target.pods,
        pattern: s.logs.pattern,
        threshold: s.logs.threshold,
        since,
        limitBytes: s.logs.limitBytes,
        timeoutMs,
      });
    case 'consistency':
      return consistencyCheck(ep, { ...s.consistency, timeoutMs });
    case 'postgres':
    case 'redis':
      return dataTierCheck(name, s, timeoutMs);
    case 'traffic-share':
      return trafficShareCheck(ep, { ...s.trafficShare!, timeoutMs });
  }
}

/** The same PostgreSQL and Redis checks preflight runs, asked what matters after the deploy. */
function dataTierCheck(name: 'postgres' | 'redis', s: Readonly<ValidateSettings>, timeoutMs: number): Check {
  if (name === 'postgres') {
    const p = s.dataTier.postgres!;
    return postgresCheck({
      url: p.url,
      minStandbys: p.minStandbys,
      maxReplicationLagBytes: p.maxReplicationLagBytes,
      // WAL archiving is preflight's §1.1 item; after the deploy it is replication and connections.
      connections: { ...p.sessions, baseline: p.baselineConnections, band: p.band },
      applicationName: 'veloz-validate',
      timeoutMs,
    });
  }
  const r = s.dataTier.redis!;
  return redisCheck({
    sentinels: r.sentinels,
    masterName: r.master,
    password: r.password,
    minReplicas: r.minReplicas,
    roundTripPrefix: r.testPrefix,
    timeoutMs,
  });
}
