import type { InputReader } from '../inputs';

/** Where an action records what it did: GitHub deployments, the runbook's log file, chat. */
export interface RecordSettings {
  githubToken?: string;
  environment: string;
  deploymentLog?: string;
  notifyWebhook?: string;
}

export function readRecords(reader: InputReader): RecordSettings {
  const githubToken = reader.optional('github-token', { secret: true });
  const environment = reader.text('environment', { required: true });
  const deploymentLog = reader.optional('deployment-log');
  const notifyWebhook = reader.url('notify-webhook', ['https:', 'http:'], { secret: true })?.toString();
  return { githubToken, environment, deploymentLog, notifyWebhook };
}
