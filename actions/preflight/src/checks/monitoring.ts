/**
 * Runbook §1.1 Monitoring and "DR runbook accessible": Prometheus has the engine's alerting rules loaded
 * and healthy, the dashboards answer, the DR runbook answers. Each part is decided on its own (`data`).
 */
import { type Check, defineCheck, describeError } from '@veloz/shared/checks';
import { httpRequest, urlEndpoint } from '@veloz/shared/http/endpoint';
import type { MonitoringReadiness } from '../readiness-inputs';

/** The engine's metrics prefix: what "a rule for the engine" means when no names are given. */
const ENGINE_METRIC_PREFIX = 'veloz_';

type PartStatus = 'pass' | 'fail' | 'unset';
interface Part {
  status: PartStatus;
  observed: string;
  problem?: string;
}

export function monitoringCheck(readiness: MonitoringReadiness, timeoutMs: number): Check {
  return defineCheck('monitoring', 'Monitoring readiness', timeoutMs, async ({ signal }) => {
    const perRequestMs = Math.max(1000, Math.floor(timeoutMs / 2));
    const [rules, dashboards, runbook] = await Promise.all([
      readiness.prometheusUrl
        ? alertRulesPart(readiness.prometheusUrl, readiness.alertRules, perRequestMs, signal)
        : unset(),
      readiness.dashboardUrls.length
        ? urlsPart('dashboard', readiness.dashboardUrls, readiness.dashboardToken, perRequestMs, signal)
        : unset(),
      readiness.drRunbookUrl
        ? urlsPart('DR runbook', [readiness.drRunbookUrl], undefined, perRequestMs, signal)
        : unset(),
    ]);
    const parts = { rules, dashboards, runbook };
    const set = Object.values(parts).filter((p) => p.status !== 'unset');
    const problems = set.filter((p) => p.status === 'fail').map((p) => p.problem!);
    return {
      status: problems.length ? 'fail' : 'pass',
      observed: set.map((p) => p.observed).join('; '),
      threshold: 'rules loaded and healthy; dashboards and DR runbook answer 2xx',
      detail: problems.length ? problems.join(' ') : undefined,
      data: { rules: rules.status, dashboards: dashboards.status, runbook: runbook.status },
    };
  });
}

const unset = async (): Promise<Part> => ({ status: 'unset', observed: '' });

interface PromRule {
  name: string;
  query: string;
  type: string;
  health: string;
  lastError?: string;
}

async function alertRulesPart(url: string, names: string[], timeoutMs: number, signal: AbortSignal): Promise<Part> {
  let rules: PromRule[];
  try {
    const res = await httpRequest(urlEndpoint(url), {
      path: '/api/v1/rules?type=alert',
      timeoutMs,
      signal,
      maxBodyBytes: 16 << 20,
    });
    const body = JSON.parse(res.body) as { status?: string; data?: { groups?: { rules?: PromRule[] }[] } };
    if (res.status !== 200 || body.status !== 'success')
      throw new Error(`HTTP ${res.status}: ${res.body.slice(0, 200)}`);
    rules = (body.data?.groups ?? []).flatMap((g) => g.rules ?? []).filter((r) => r.type === 'alerting');
  } catch (error) {
    const problem = `Prometheus ${urlEndpoint(url).describe} did not list its rules: ${describeError(error)}.`;
    return { status: 'fail', observed: 'rules unknown', problem };
  }
  const engine = names.length
    ? rules.filter((r) => names.includes(r.name))
    : rules.filter((r) => r.query.includes(ENGINE_METRIC_PREFIX));
  const missing = names.filter((n) => !rules.some((r) => r.name === n));
  const broken = engine.filter((r) => r.health === 'err');
  const observed = `${engine.length} engine alerting rule${engine.length === 1 ? '' : 's'} loaded${broken.length ? `, ${broken.length} in error` : ''}`;
  const problems = [
    missing.length
      ? `Alerting rules not loaded in Prometheus: ${missing.join(', ')} (add them to its rule_files, check with \`promtool check rules\`, reload).`
      : '',
    !names.length && !engine.length
      ? `Prometheus has no alerting rule on ${ENGINE_METRIC_PREFIX}* metrics: load the engine's rule file.`
      : '',
    broken.length
      ? `Rules failing to evaluate: ${broken.map((r) => `${r.name} (${r.lastError ?? 'error'})`).join(', ')}.`
      : '',
  ].filter(Boolean);
  return { status: problems.length ? 'fail' : 'pass', observed, problem: problems.join(' ') || undefined };
}

async function urlsPart(
  what: string,
  urls: string[],
  token: string | undefined,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Part> {
  const answers = await Promise.all(
    urls.map(async (raw) => {
      const url = new URL(raw);
      const ep = urlEndpoint(url.origin, token ? { headers: { authorization: `Bearer ${token}` } } : {});
      const where = `${ep.describe}${url.pathname}`;
      try {
        const res = await httpRequest(ep, {
          path: `${url.pathname}${url.search}`,
          timeoutMs,
          signal,
          maxBodyBytes: 8 << 20,
        });
        return { where, ok: res.status >= 200 && res.status < 300, said: `HTTP ${res.status}` };
      } catch (error) {
        return { where, ok: false, said: describeError(error) };
      }
    }),
  );
  const bad = answers.filter((a) => !a.ok);
  const observed = `${answers.length - bad.length}/${answers.length} ${what}${answers.length === 1 ? '' : 's'} answered`;
  if (bad.length === 0) return { status: 'pass', observed };
  return {
    status: 'fail',
    observed,
    problem: `${what[0]!.toUpperCase()}${what.slice(1)} not accessible: ${bad.map((a) => `${a.where} (${a.said})`).join(', ')}.`,
  };
}
