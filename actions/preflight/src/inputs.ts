import { InputError, type InputReader } from '@veloz/shared/inputs';
import { splitCommandLine } from '@veloz/shared/command';
import { ParseError, parseInteger, parseIsoTime } from '@veloz/shared/parse';
import { parseImageRepository } from './checks/image';
import { selectChecks } from '@veloz/shared/selection';
import {
  readEngineSessions,
  readPostgresUrl,
  readSentinels,
  type EngineSessions,
  type SentinelInputs,
} from '@veloz/shared/data-tier/inputs';
import { readTarget, type TargetSettings } from '@veloz/shared/target';
import { readReadiness, type ReadinessSettings } from './readiness-inputs';
import { singleLine } from '@veloz/shared/secrets';
import { parseWindowPolicy, type WindowPolicy } from './window-policy';

/** Runbook §1 order: the summary lists checks in this order. */
export const PREFLIGHT_CHECKS = [
  'ci',
  'reviews',
  'security',
  'release-notes',
  'cluster',
  'capacity',
  'release',
  'rbac',
  'image',
  'postgres',
  'redis',
  'network-policy',
  'backup',
  'monitoring',
  'window',
  'notice',
  'snapshot',
] as const;
export type PreflightCheckName = (typeof PREFLIGHT_CHECKS)[number];

export interface PreflightSettings {
  target: TargetSettings;
  checks: PreflightCheckName[];
  failOn: 'fail' | 'warn';
  checkTimeoutMs: number;
  replicas?: number;
  image?: { repository: string; version: string; username?: string; password?: string };
  postgres?: {
    url: string;
    minStandbys: number;
    maxReplicationLagBytes: number;
    maxWalAgeMs: number;
    sessions: EngineSessions;
  };
  backup: { verifyCommand?: string[]; path?: string; maxAgeMs: number };
  redis?: SentinelInputs;
  window: { policy: WindowPolicy; overrideReason?: string; evaluateAt?: Date };
  snapshot: { commands: string[][]; timeoutMs: number };
  /** Release version, for the image, release-notes and notice checks and the notifications. */
  version?: string;
  readiness: ReadinessSettings;
}

export function parsePreflightInputs(reader: InputReader, mask: (secret: string) => void): PreflightSettings {
  const target = readTarget(reader, mask);
  const failOn = reader.choice('fail-on', ['fail', 'warn'] as const);
  const checkTimeoutMs = reader.duration('check-timeout');
  const replicas = reader.parsed('replicas', (t) => parseInteger(t, 0, 10_000));

  const imageRepository = reader.parsed('image', (text) => {
    try {
      parseImageRepository(text);
    } catch (error) {
      throw new ParseError(
        `an image repository without tag, such as registry.example.com/veloz/veloz-engine (${(error as Error).message})`,
      );
    }
    return text;
  });
  const version = reader.optional('version');
  const username = reader.optional('registry-username');
  const password = reader.optional('registry-password', { secret: true });

  const postgresUrl = readPostgresUrl(reader);
  const minStandbys = reader.integer('min-standbys', 0, 32);
  const maxReplicationLagBytes = reader.byteSize('max-replication-lag');
  const maxWalAgeMs = reader.duration('max-wal-age');
  const sessions = readEngineSessions(reader);

  const backupVerifyCommand = reader.parsed('backup-verify-command', commandLine);
  const backupPath = reader.optional('backup-path');
  const maxBackupAgeMs = reader.duration('max-backup-age');

  const redis = readSentinels(reader);

  const policy = parseWindowPolicy(reader);
  const overrideReason = reader.parsed('override-reason', singleLine);
  const evaluateAt = reader.parsed('evaluate-at', parseIsoTime);

  const snapshotLines = reader.lines('snapshot-commands');
  const snapshotCommands = snapshotLines.map((line) => {
    try {
      return commandLine(line);
    } catch (error) {
      if (error instanceof ParseError) throw new InputError('snapshot-commands', line, error.expected);
      throw error;
    }
  });
  const snapshotTimeoutMs = reader.duration('snapshot-timeout');
  const readiness = readReadiness(reader);
  const { github, monitoring } = readiness;

  const checks = selectChecks(reader, PREFLIGHT_CHECKS, (name) => {
    switch (name) {
      case 'image':
        return imageRepository && version ? undefined : 'set `image` and `version`';
      case 'postgres':
        return postgresUrl ? undefined : 'set `postgres-url`';
      case 'backup':
        return backupVerifyCommand || backupPath ? undefined : 'set `backup-verify-command` or `backup-path`';
      case 'redis':
        return redis ? undefined : 'set `sentinel-addresses`';
      case 'snapshot':
        return snapshotCommands.length > 0 ? undefined : 'set `snapshot-commands`';
      case 'ci':
      case 'reviews':
      case 'security':
        return github ? undefined : 'set `github-token`';
      case 'release-notes':
        return (github || readiness.releaseNotesPath) && version
          ? undefined
          : 'set `version` and `github-token` or `release-notes-path`';
      case 'notice':
        return github && version ? undefined : 'set `github-token` and `version`';
      case 'monitoring':
        return monitoring.prometheusUrl || monitoring.dashboardUrls.length > 0 || monitoring.drRunbookUrl
          ? undefined
          : 'set `prometheus-url`, `dashboard-urls` or `dr-runbook-url`';
      default:
        return undefined;
    }
  });

  return {
    target,
    checks,
    failOn,
    checkTimeoutMs,
    replicas,
    image: imageRepository && version ? { repository: imageRepository, version, username, password } : undefined,
    postgres: postgresUrl
      ? { url: postgresUrl, minStandbys, maxReplicationLagBytes, maxWalAgeMs, sessions }
      : undefined,
    backup: { verifyCommand: backupVerifyCommand, path: backupPath, maxAgeMs: maxBackupAgeMs },
    redis,
    window: { policy, overrideReason, evaluateAt },
    snapshot: { commands: snapshotCommands, timeoutMs: snapshotTimeoutMs },
    version,
    readiness,
  };
}

/** One command line, split the way a shell would tokenize it (it is then run without a shell). */
export function commandLine(text: string): string[] {
  let argv: string[];
  try {
    argv = splitCommandLine(text);
  } catch (error) {
    throw new ParseError(`a command line with balanced quotes (${(error as Error).message})`);
  }
  if (argv.length === 0) throw new ParseError('a command line');
  return argv;
}
