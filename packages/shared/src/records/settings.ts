import type { InputReader } from '../inputs';
import { ParseError, parseUrl } from '../parse';
import { secretRegistry } from '../secrets';
import { parseNotifyRoutes, type Channel, type NotifyRoutes } from './routes';

/** Where an action records what it did: GitHub deployments, the runbook's log file, chat. */
export interface RecordSettings {
  githubToken?: string;
  environment: string;
  deploymentLog?: string;
  notifyWebhook?: string;
  /** `notify-routes`: the §5.1–5.2 channel webhooks; a channel without one falls back to notifyWebhook. */
  notifyRoutes: NotifyRoutes;
}

export function readRecords(reader: InputReader): RecordSettings {
  const githubToken = reader.optional('github-token', { secret: true });
  const environment = reader.must('environment', parseEnvironmentName);
  const deploymentLog = reader.path('deployment-log');
  const allowInsecureWebhook = reader.boolean('allow-insecure-webhook');
  const protocols = allowInsecureWebhook ? ['https:', 'http:'] : ['https:'];
  const webhook = reader.url('notify-webhook', protocols, { secret: true });
  const notifyWebhook = webhook?.toString();
  const notifyRoutes = reader.parsed('notify-routes', (text) => routeUrls(text, protocols), { secret: true }) ?? {};
  return { githubToken, environment, deploymentLog, notifyWebhook, notifyRoutes };
}

/** Each route's URL is a credential like notify-webhook: same protocols, registered as a secret. */
export function routeUrls(text: string, protocols: readonly string[]): NotifyRoutes {
  const routes: NotifyRoutes = {};
  for (const [channel, raw] of Object.entries(parseNotifyRoutes(text))) {
    let url: URL;
    try {
      url = parseUrl(raw, protocols);
    } catch (error) {
      const why = error instanceof ParseError ? error.expected : 'a URL';
      throw new ParseError(`a webhook URL for ${channel}: ${why}`);
    }
    secretRegistry.addUrl(url.href);
    routes[channel as Channel] = url.toString();
  }
  return routes;
}

/** A GitHub environment name as our records use it: it lands in log lines, chat text and group names. */
export function parseEnvironmentName(text: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(text)) {
    throw new ParseError('an environment name such as production or staging-eu (letters, digits, . _ -, at most 100)');
  }
  return text;
}
