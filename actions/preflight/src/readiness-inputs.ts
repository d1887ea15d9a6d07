/**
 * Inputs of the runbook §1.1 items that are not about the cluster or its databases: code quality from
 * GitHub, monitoring readiness, advance notice and who is told when the checklist passes.
 */
import { InputError, type InputReader } from '@veloz/shared/inputs';
import { ParseError } from '@veloz/shared/parse';
import { routeUrls } from '@veloz/shared/records/settings';
import type { NotifyRoutes } from '@veloz/shared/records/routes';

/** Alert severities, lowest first (GitHub's security severity levels). */
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

interface GithubReadiness {
  token: string;
  /** Release commit; undefined means the workflow's GITHUB_SHA. */
  sha?: string;
  requiredChecks: string[];
  minApprovals: number;
  maxSeverity: Severity;
  noticeHours: number;
  noticeLabel: string;
}

export interface MonitoringReadiness {
  prometheusUrl?: string;
  /** Rule names that must be loaded; empty means any rule whose expression mentions `veloz_`. */
  alertRules: string[];
  dashboardUrls: string[];
  dashboardToken?: string;
  drRunbookUrl?: string;
}

export interface ReadinessSettings {
  github?: GithubReadiness;
  releaseNotesPath?: string;
  monitoring: MonitoringReadiness;
  environment: string;
  notifyWebhook?: string;
  /** `notify-routes`: DEPLOYMENT STARTED goes to the platform channel (§5.1 L2); notify-webhook is the fallback. */
  notifyRoutes: NotifyRoutes;
  statusPageWebhook?: string;
}

const HTTP = ['https:', 'http:'] as const;

export function readReadiness(reader: InputReader): ReadinessSettings {
  const token = reader.optional('github-token', { secret: true });
  const sha = reader.parsed('sha', (text) => {
    if (!/^[0-9a-f]{40}$/i.test(text)) throw new ParseError('a full commit SHA (40 hexadecimal digits)');
    return text.toLowerCase();
  });
  const requiredChecks = reader.lines('required-checks');
  const minApprovals = reader.integer('min-approvals', 0, 100);
  const maxSeverity = reader.choice('max-severity', SEVERITIES);
  const noticeHours = reader.integer('notice-hours', 0, 24 * 90);
  const noticeLabel = reader.text('notice-label', { required: true });
  const releaseNotesPath = reader.path('release-notes-path');

  const prometheusUrl = reader.url('prometheus-url', HTTP)?.toString().replace(/\/$/, '');
  const alertRules = reader.lines('alert-rules');
  const dashboardUrls = reader.lines('dashboard-urls').map((line) => {
    try {
      const url = new URL(line);
      if (!(HTTP as readonly string[]).includes(url.protocol)) throw new TypeError(url.protocol);
      return url.toString();
    } catch {
      throw new InputError('dashboard-urls', line, 'http(s) URLs, one per line');
    }
  });
  const dashboardToken = reader.optional('dashboard-token', { secret: true });
  const drRunbookUrl = reader.url('dr-runbook-url', HTTP)?.toString();

  const environment = reader.text('environment', { required: true });
  const notifyWebhook = reader.url('notify-webhook', HTTP, { secret: true })?.toString();
  const notifyRoutes = reader.parsed('notify-routes', (text) => routeUrls(text, HTTP), { secret: true }) ?? {};
  const statusPageWebhook = reader.url('status-page-webhook', HTTP, { secret: true })?.toString();

  return {
    github: token ? { token, sha, requiredChecks, minApprovals, maxSeverity, noticeHours, noticeLabel } : undefined,
    releaseNotesPath,
    monitoring: { prometheusUrl, alertRules, dashboardUrls, dashboardToken, drRunbookUrl },
    environment,
    notifyWebhook,
    notifyRoutes,
    statusPageWebhook,
  };
}
