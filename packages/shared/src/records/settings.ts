import type { InputReader } from '../inputs';
import { ParseError } from '../parse';

/** Where an action records what it did: GitHub deployments, the runbook's log file, chat. */
export interface RecordSettings {
  githubToken?: string;
  environment: string;
  deploymentLog?: string;
  notifyWebhook?: string;
}

export function readRecords(reader: InputReader): RecordSettings {
  const githubToken = reader.optional('github-token', { secret: true });
  const environment = reader.must('environment', parseEnvironmentName);
  const deploymentLog = reader.optional('deployment-log');
  const allowInsecureWebhook = reader.boolean('allow-insecure-webhook');
  const protocols = allowInsecureWebhook ? ['https:', 'http:'] : ['https:'];
  const webhook = reader.url('notify-webhook', protocols, { secret: true });
  const notifyWebhook = webhook?.toString();
  return { githubToken, environment, deploymentLog, notifyWebhook };
}

/** A GitHub environment name as our records use it: it lands in log lines, chat text and group names. */
export function parseEnvironmentName(text: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(text)) {
    throw new ParseError('an environment name such as production or staging-eu (letters, digits, . _ -, at most 100)');
  }
  return text;
}
