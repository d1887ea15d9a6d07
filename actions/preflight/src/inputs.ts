import { InputError, type InputReader } from '@veloz/shared/inputs';
import { splitCommandLine } from '@veloz/shared/command';
import { ParseError, parseInteger, parseIsoTime } from '@veloz/shared/parse';
import {
  readEngineSessions,
  readPostgresUrl,
  readSentinels,
  type EngineSessions,
  type SentinelInputs,
} from '@veloz/shared/data-tier/inputs';
import { parseImageRepository } from './checks/image';
import { selectChecks } from '@veloz/shared/selection';
import { readTarget, type TargetSettings } from '@veloz/shared/target';
import { readReadiness, type ReadinessSettings } from './readiness-inputs';
import { STAGES, type Stage } from '@veloz/shared/kube/permissions';
import { freeText } from '@veloz/shared/secrets';
import { parseWindowPolicy, type WindowPolicy } from './window-policy';
import { PREFLIGHT_CHECKS, missingConfig, type PreflightCheckName } from './registry';

export interface PreflightSettings {
  target: TargetSettings;
  checks: PreflightCheckName[];
  failOn: 'fail' | 'warn';
  /** Whose credential the kubeconfig is, for the rbac check. */
  credentialStage: Stage;
  checkTimeoutMs: number;
  replicas?: number;
  image?: { repository: string; version: string; username?: string; password?: string };
  postgres?: {
    url: string;
    minStandbys: number;
    maxReplicationLagBytes: number;
    maxWalAgeMs: number;
    /** `migration-version-query`: the schema version recorded before the deploy (runbook §4.4). */
    migrationQuery?: string;
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
  const credentialStage = reader.choice('credential-stage', STAGES);
  const checkTimeoutMs = reader.duration('check-timeout');
  const replicas = reader.parsed('replicas', (t) => parseInteger(t, 0, 10_000));
  const image = readImage(reader);
  const postgres = readPostgres(reader);
  const backup = readBackup(reader);
  const redis = readSentinels(reader);
  const policy = parseWindowPolicy(reader);
  const overrideReason = reader.parsed('override-reason', freeText);
  const evaluateAt = reader.parsed('evaluate-at', parseIsoTime);
  const snapshot = readSnapshot(reader);
  const readiness = readReadiness(reader);
  const version = image.version;
  const configured = { ...image, postgres, backup, redis, snapshot, readiness };
  const checks = selectChecks(reader, PREFLIGHT_CHECKS, (name) => missingConfig(name, configured));
  return {
    target,
    checks,
    failOn,
    credentialStage,
    checkTimeoutMs,
    replicas,
    image: image.repository && version ? { ...image, repository: image.repository, version } : undefined,
    postgres,
    backup,
    redis,
    window: { policy, overrideReason, evaluateAt },
    snapshot,
    version,
    readiness,
  };
}

function readImage(reader: InputReader): {
  repository?: string;
  version?: string;
  username?: string;
  password?: string;
} {
  const repository = reader.parsed('image', (text) => {
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
  return { repository, version, username, password };
}

function readPostgres(reader: InputReader): PreflightSettings['postgres'] {
  const url = readPostgresUrl(reader);
  const minStandbys = reader.integer('min-standbys', 0, 32);
  const maxReplicationLagBytes = reader.byteSize('max-replication-lag');
  const maxWalAgeMs = reader.duration('max-wal-age');
  const sessions = readEngineSessions(reader);
  const migrationQuery = reader.parsed('migration-version-query', (text) => text.trim());
  if (migrationQuery && !url) {
    throw new InputError('migration-version-query', migrationQuery, 'nothing unless `postgres-url` is set too');
  }
  return url ? { url, minStandbys, maxReplicationLagBytes, maxWalAgeMs, migrationQuery, sessions } : undefined;
}

function readBackup(reader: InputReader): PreflightSettings['backup'] {
  const verifyCommand = reader.parsed('backup-verify-command', commandLine);
  const path = reader.optional('backup-path');
  const maxAgeMs = reader.duration('max-backup-age');
  return { verifyCommand, path, maxAgeMs };
}

function readSnapshot(reader: InputReader): PreflightSettings['snapshot'] {
  const lines = reader.lines('snapshot-commands');
  const commands = lines.map((line) => {
    try {
      return commandLine(line);
    } catch (error) {
      if (error instanceof ParseError) throw new InputError('snapshot-commands', line, error.expected);
      throw error;
    }
  });
  return { commands, timeoutMs: reader.duration('snapshot-timeout') };
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
