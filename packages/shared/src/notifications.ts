/** The runbook's §5.4 communication templates, filled from what the action actually did. */
import { singleLine } from './secrets';

interface DeploymentStarted {
  environment: string;
  version: string;
  time: Date;
  duration?: string;
  impact?: string;
  contact: string;
}

interface DeploymentComplete {
  environment: string;
  version: string;
  time: Date;
  status: 'SUCCESS' | 'FAILED';
  validation: string;
  releaseNotes?: string;
}

export interface RollbackInitiated {
  environment: string;
  fromVersion: string;
  toVersion: string;
  reason: string;
  time: Date;
  status: 'IN PROGRESS' | 'COMPLETE' | 'FAILED';
  incident?: string;
}

export function deploymentStartedText(notice: DeploymentStarted): string {
  return [
    'DEPLOYMENT STARTED',
    `Service: ${serviceName(notice.environment)}`,
    `Version: ${withV(notice.version)}`,
    `Time: ${notificationTime(notice.time)}`,
    `Duration: ${notice.duration ?? '~30 minutes'}`,
    `Impact: ${notice.impact ?? 'Minimal (rolling deployment)'}`,
    `Contact: ${notice.contact.startsWith('@') ? notice.contact : `@${notice.contact}`}`,
  ].join('\n');
}

export function deploymentCompleteText(notice: DeploymentComplete): string {
  return [
    'DEPLOYMENT COMPLETE',
    `Service: ${serviceName(notice.environment)}`,
    `Version: ${withV(notice.version)}`,
    `Time: ${notificationTime(notice.time)}`,
    `Status: ${notice.status}`,
    `Validation: ${notice.validation}`,
    `Release Notes: ${notice.releaseNotes ?? 'n/a'}`,
  ].join('\n');
}

export function rollbackInitiatedText(notice: RollbackInitiated): string {
  return [
    'ROLLBACK INITIATED',
    `Service: ${serviceName(notice.environment)}`,
    `From Version: ${withV(notice.fromVersion)}`,
    `To Version: ${withV(notice.toVersion)}`,
    `Reason: ${singleLine(notice.reason)}`,
    `Time: ${notificationTime(notice.time)}`,
    `Status: ${notice.status}`,
    `Incident: ${notice.incident ? singleLine(notice.incident) : 'n/a'}`,
  ].join('\n');
}

/** "production" -> "VeloZ Production", as the runbook writes it. */
export function serviceName(environment: string): string {
  const env = environment.trim() || 'production';
  return `VeloZ ${env.charAt(0).toUpperCase()}${env.slice(1)}`;
}

/** The runbook's "2026-02-23 12:00 UTC". */
function notificationTime(time: Date): string {
  return `${time.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** The runbook's deployments.log line time: "2026-02-23T12:00:00Z" (`date -u +%Y-%m-%dT%H:%M:%SZ`). */
export function logLineTime(time: Date): string {
  return `${time.toISOString().slice(0, 19)}Z`;
}

function withV(version: string): string {
  return /^v/i.test(version) || !/^\d/.test(version) ? version : `v${version}`;
}
