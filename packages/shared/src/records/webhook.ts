import type { Clock } from '../clock';
import { describeError } from '../checks';
import { escapeMrkdwn, redact } from '../secrets';

interface WebhookResult {
  ok: boolean;
  attempts: number;
  /** Why it failed, without the URL (the URL is a secret). */
  error?: string;
}

/**
 * Posts a Slack-compatible `{"text": …}` message (plus `fields`, e.g. a status page's maintenance window),
 * retrying 5xx, 429 and network errors. A chat outage must never fail a deploy, so this never throws:
 * the caller turns a failure into a warning. Everything sent is redacted, the text escaped for mrkdwn;
 * a redirect is not followed (the URL is the credential, and a redirect would carry the message elsewhere).
 */
export async function postNotification(
  url: string,
  text: string,
  clock: Clock,
  attempts = 3,
  fields: Record<string, unknown> = {},
): Promise<WebhookResult> {
  let error = '';
  let retryAfterMs: number | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    retryAfterMs = undefined;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: redact(JSON.stringify({ ...fields, text: escapeMrkdwn(text) })),
        signal: AbortSignal.timeout(10_000),
        redirect: 'manual',
      });
      if (response.ok) return { ok: true, attempts: attempt };
      if (response.status >= 300 && response.status < 400) {
        const error = `the webhook answered ${response.status} (a redirect, not followed: give the final URL)`;
        return { ok: false, attempts: attempt, error };
      }
      error = `the webhook answered ${response.status} ${response.statusText}`;
      if (response.status < 500 && response.status !== 429) return { ok: false, attempts: attempt, error };
      const retryAfter = Number(response.headers.get('retry-after'));
      // Slack answers 429 with Retry-After in seconds; wait that long, within reason.
      if (Number.isFinite(retryAfter) && retryAfter > 0) retryAfterMs = Math.min(retryAfter, 30) * 1000;
    } catch (e) {
      error = `the webhook could not be reached: ${redact(describeError(e).replaceAll(url, '<webhook>'))}`;
    }
    if (attempt < attempts) await clock.sleep(retryAfterMs ?? 500 * 2 ** (attempt - 1));
  }
  return { ok: false, attempts, error };
}
