/**
 * Once the checklist passed: runbook §5.4 DEPLOYMENT STARTED to the on-call route ("On-call engineer
 * notified": the §5.1 platform channel of `notify-routes`, else `notify-webhook`) and the §1.3
 * maintenance window to the status page. Best effort, like every chat message:
 * an undelivered one is a warning and shows in the checklist, it never fails the preflight.
 */
import type { RunContext } from '@veloz/shared/contract';
import { deploymentStartedText } from '@veloz/shared/notifications';
import { deliveriesFor } from '@veloz/shared/records/routes';
import { postNotification } from '@veloz/shared/records/webhook';
import type { Announced } from './checklist';
import type { ReadinessSettings } from './readiness-inputs';

/** Runbook §1.3: "Maintenance Window | 30 minutes". */
const MAINTENANCE_WINDOW_MS = 30 * 60_000;

interface Announcement {
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
  const text = deploymentStartedText({
    environment: settings.environment,
    version,
    time: now,
    contact: ctx.workflowRun.actor,
  });
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
    run_url: ctx.workflowRun.runUrl,
  };
  const windowText = `Maintenance window: ${window.title}, ${window.starts_at.slice(11, 16)}-${window.ends_at.slice(11, 16)} UTC (${window.impact}).`;
  const [statusPage, oncall] = await Promise.all([
    post(settings.statusPageWebhook, 'Status page update (status-page-webhook)', windowText, { maintenance: window }),
    tellOnCall(settings, text, post),
  ]);
  const notifications = [...oncall.texts, ...(settings.statusPageWebhook ? [windowText] : [])];
  const announced: Announced = { oncall: oncall.result, statusPage, ...(oncall.via ? { oncallVia: oncall.via } : {}) };
  return { announced, notifications, warnings };
}

type Post = (url: string | undefined, what: string, body: string) => Promise<Announced['oncall']>;

/** DEPLOYMENT STARTED through the §5.1–5.2 routes (the platform channel), or the one notify-webhook. */
async function tellOnCall(
  settings: Readonly<ReadinessSettings>,
  text: string,
  post: Post,
): Promise<{ result: Announced['oncall']; via?: string; texts: string[] }> {
  const routed = Object.keys(settings.notifyRoutes).length > 0;
  const deliveries = deliveriesFor(text, settings.notifyRoutes, settings.notifyWebhook);
  const results = await Promise.all(
    deliveries.map((d) =>
      post(
        d.url,
        `On-call notification (${routed ? `notify-routes: ${d.channels.join(' + ')}` : 'notify-webhook'})`,
        d.text,
      ),
    ),
  );
  const result = results.length === 0 ? 'not-sent' : results.includes('failed') ? 'failed' : 'sent';
  const via = routed
    ? deliveries
        .flatMap((d) => d.channels)
        .map((c) => (settings.notifyRoutes[c] ? `\`notify-routes\` (${c})` : `\`notify-webhook\` (no ${c} route)`))
        .join(', ')
    : undefined;
  return { result, via, texts: deliveries.map((d) => d.text) };
}
