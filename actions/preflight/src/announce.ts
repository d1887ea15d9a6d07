/**
 * Once the checklist passed: runbook §5.4 DEPLOYMENT STARTED to the on-call route ("On-call engineer
 * notified") and the §1.3 maintenance window to the status page. Best effort, like every chat message:
 * an undelivered one is a warning and shows in the checklist, it never fails the preflight.
 */
import type { RunContext } from '@veloz/shared/contract';
import { deploymentStartedText } from '@veloz/shared/notifications';
import { postNotification } from '@veloz/shared/records/webhook';
import type { Announced } from './checklist';
import type { ReadinessSettings } from './readiness-inputs';

/** Runbook §1.3: "Maintenance Window | 30 minutes". */
export const MAINTENANCE_WINDOW_MS = 30 * 60_000;

export interface Announcement {
  announced: Announced;
  notifications: string[];
  warnings: string[];
}

export async function announceDeployment(
  settings: Readonly<ReadinessSettings>,
  version: string,
  ctx: RunContext,
): Promise<Announcement> {
  const now = new Date(ctx.clock.now());
  const text = deploymentStartedText({ environment: settings.environment, version, time: now, contact: ctx.run.actor });
  const warnings: string[] = [];
  const post = async (
    url: string | undefined,
    what: string,
    body: string,
    fields = {},
  ): Promise<Announced['oncall']> => {
    if (!url) return 'not-sent';
    const sent = await postNotification(url, body, ctx.clock, 3, fields);
    if (sent.ok) return 'sent';
    warnings.push(`${what} not delivered after ${sent.attempts} attempts: ${sent.error}.`);
    return 'failed';
  };
  const end = new Date(now.getTime() + MAINTENANCE_WINDOW_MS);
  const window = {
    title: `${text.split('\n')[1]?.replace('Service: ', '') ?? 'VeloZ'} deployment ${version}`,
    status: 'scheduled',
    starts_at: now.toISOString(),
    ends_at: end.toISOString(),
    impact: 'Minimal (rolling deployment)',
    run_url: ctx.run.runUrl,
  };
  const windowText = `Maintenance window: ${window.title}, ${window.starts_at.slice(11, 16)}-${window.ends_at.slice(11, 16)} UTC (${window.impact}).`;
  const [oncall, statusPage] = await Promise.all([
    post(settings.notifyWebhook, 'On-call notification (notify-webhook)', text),
    post(settings.statusPageWebhook, 'Status page update (status-page-webhook)', windowText, { maintenance: window }),
  ]);
  const notifications = [
    ...(settings.notifyWebhook ? [text] : []),
    ...(settings.statusPageWebhook ? [windowText] : []),
  ];
  return { announced: { oncall, statusPage }, notifications, warnings };
}
