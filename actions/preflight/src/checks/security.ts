/** Runbook §1.1 "Security scan completed with no critical/high vulnerabilities": open alerts on the release. */
import { type Check, defineCheck } from '@veloz/shared/checks';
import { SEVERITIES, type Severity } from '../readiness-inputs';
import { githubMessage, httpStatusOf, namedList, type GithubRepo } from './github-repo';

interface Alert {
  name: string;
  url: string;
  severity: Severity;
}

/** Severities at or above the threshold, for the API's `severity` filter. */
const atOrAbove = (min: Severity): Severity[] => SEVERITIES.slice(SEVERITIES.indexOf(min));

export function securityCheck(gh: GithubRepo, maxSeverity: Severity, timeoutMs: number): Check {
  return defineCheck('security', 'Security alerts', timeoutMs, async () => {
    const threshold = `no open alert at ${atOrAbove(maxSeverity).join('/')}`;
    const sources = await Promise.all([
      source('code scanning', () => codeScanningAlerts(gh, maxSeverity)),
      source('Dependabot', () => dependabotAlerts(gh, maxSeverity)),
    ]);
    const unavailable = sources.filter((s) => s.error).map((s) => s.error!);
    const alerts = sources.flatMap((s) => s.alerts);
    const observed = `${alerts.length} open alert${alerts.length === 1 ? '' : 's'} at ${maxSeverity} or above${
      unavailable.length ? `; ${unavailable.length} source(s) unreadable` : ''
    }`;
    const data = { alerts: alerts.map((a) => ({ ...a })), unavailable };
    if (alerts.length === 0 && unavailable.length === 0) return { status: 'pass', observed, threshold, data };
    const detail = [
      alerts.length
        ? `Open alerts: ${namedList(alerts.map((a) => ({ name: `${a.name} [${a.severity}]`, url: a.url })))}. Fix or dismiss them (with a reason), then re-run this job.`
        : '',
      ...unavailable,
    ].filter(Boolean);
    return { status: 'fail', observed, threshold, detail: detail.join(' '), data };
  });
}

async function source(name: string, read: () => Promise<Alert[]>): Promise<{ alerts: Alert[]; error?: string }> {
  try {
    return { alerts: await read() };
  } catch (error) {
    return {
      alerts: [],
      error: `${name} alerts could not be read: ${githubMessage(error)}. ${permissionHint(name, httpStatusOf(error))}`,
    };
  }
}

/** A 403 is never a pass: it says the scan result is unknown. Name what turns it on. */
function permissionHint(name: string, status: number | undefined): string {
  if (status === 403) {
    return name === 'Dependabot'
      ? 'Give the token `security-events: read` (workflow `permissions:`), and turn on Dependabot alerts (Settings → Code security).'
      : 'Give the token `security-events: read` (workflow `permissions:`), and turn on code scanning (Settings → Code security; private repositories need GitHub Advanced Security / Code Security).';
  }
  if (status === 404) return `No ${name} analysis exists for this repository: set it up (Settings → Code security).`;
  return 'Re-run this job; if it persists, check https://www.githubstatus.com.';
}

async function codeScanningAlerts(gh: GithubRepo, min: Severity): Promise<Alert[]> {
  const alerts = await gh.octokit.paginate(gh.octokit.rest.codeScanning.listAlertsForRepo, {
    owner: gh.owner,
    repo: gh.repo,
    state: 'open',
    ...(gh.ref.startsWith('refs/heads/') || gh.ref.startsWith('refs/tags/') ? { ref: gh.ref } : {}),
    per_page: 100,
  });
  const wanted = new Set<string>(atOrAbove(min));
  // Only security severities: a code-quality "error" is not a vulnerability.
  return alerts
    .filter((a) => wanted.has(a.rule.security_severity_level ?? ''))
    .map((a) => ({
      name: `${a.rule.id ?? a.rule.name ?? 'code scanning'} #${a.number}`,
      url: a.html_url,
      severity: a.rule.security_severity_level as Severity,
    }));
}

async function dependabotAlerts(gh: GithubRepo, min: Severity): Promise<Alert[]> {
  const alerts = await gh.octokit.paginate(gh.octokit.rest.dependabot.listAlertsForRepo, {
    owner: gh.owner,
    repo: gh.repo,
    state: 'open',
    severity: atOrAbove(min).join(','),
    per_page: 100,
  });
  return alerts.map((a) => ({
    name: `${a.security_advisory.ghsa_id} in ${a.dependency.package?.name ?? 'a dependency'} #${a.number}`,
    url: a.html_url,
    severity: a.security_advisory.severity as Severity,
  }));
}
