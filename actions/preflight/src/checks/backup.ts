/**
 * Runbook §1.1 "Fresh database backup taken (< 1 hour old)" and "Backup verification passed":
 * the newest file matching `backup-path` is young enough, and/or `backup-verify-command`
 * (e.g. verify_backup.sh) exits 0. The command runs without a shell and with a timeout.
 */
import { type Check, defineCheck } from '@veloz/shared/checks';
import { runCommand } from '@veloz/shared/command';
import { formatBytes, formatDuration } from '@veloz/shared/parse';
import { globFiles } from './glob';

interface BackupCheckSettings {
  /** Newest backup must be younger than this (default 1 h). */
  maxAgeMs: number;
  /** argv of the verification command (already split); exit 0 = verified. */
  verifyCommand?: readonly string[];
  /** Glob of backup files, e.g. /var/backups/veloz/full-*.dump. */
  path?: string;
  timeoutMs: number;
  /** Verification command timeout; defaults to the check's timeout less a second. */
  verifyTimeoutMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

interface Part {
  ok: boolean;
  observed: string;
  detail?: string;
  data: Record<string, unknown>;
}

export function backupCheck(settings: BackupCheckSettings): Check {
  return defineCheck('backup', 'Database backup', settings.timeoutMs, async ({ signal, clock }) => {
    if (!settings.path && !settings.verifyCommand?.length) {
      return { status: 'skip', detail: 'neither backup-path nor backup-verify-command is configured' };
    }
    const parts: Part[] = [];
    if (settings.path) parts.push(await newestFile(settings.path, settings.maxAgeMs, clock.now(), settings.cwd));
    if (settings.verifyCommand?.length) parts.push(await verify(settings, signal));
    const failed = parts.filter((p) => !p.ok);
    return {
      status: failed.length ? 'fail' : 'pass',
      observed: parts.map((p) => p.observed).join('; '),
      threshold: `newest backup < ${formatDuration(settings.maxAgeMs)}${settings.verifyCommand?.length ? ', verify command exits 0' : ''}`,
      detail: failed.map((p) => p.detail ?? p.observed).join('; ') || undefined,
      data: Object.assign({}, ...parts.map((p) => p.data)),
    };
  });
}

async function newestFile(pattern: string, maxAgeMs: number, now: number, cwd?: string): Promise<Part> {
  const files = await globFiles(pattern, cwd);
  if (files.length === 0) {
    return {
      ok: false,
      observed: `no file matches ${pattern}`,
      detail: `no backup file matches ${pattern}: did the backup job run, and is backup-path right (wildcards: * ? [..])?`,
      data: { backupFile: null },
    };
  }
  const newest = files.reduce((a, b) => (b.mtimeMs > a.mtimeMs ? b : a));
  const age = Math.max(0, now - newest.mtimeMs);
  const observed = `newest ${newest.path} is ${formatDuration(age)} old (${formatBytes(newest.size)})`;
  return {
    ok: age <= maxAgeMs,
    observed,
    detail:
      age <= maxAgeMs
        ? undefined
        : `${observed}, older than ${formatDuration(maxAgeMs)}: take a fresh full backup (runbook §1.2: backup_postgres.sh -t full) before deploying`,
    data: {
      backupFile: newest.path,
      backupAgeMs: age,
      backupSize: newest.size,
      backupModified: new Date(newest.mtimeMs).toISOString(),
      matched: files.length,
    },
  };
}

async function verify(s: BackupCheckSettings, signal: AbortSignal): Promise<Part> {
  const argv = [...s.verifyCommand!];
  const r = await runCommand(argv, {
    timeoutMs: s.verifyTimeoutMs ?? Math.max(1000, s.timeoutMs - 1000),
    signal,
    cwd: s.cwd,
    env: s.env,
    maxLines: 50,
  });
  const name = argv[0]!.split('/').pop();
  const said = r.lastLine ? `: ${r.lastLine}` : '';
  const observed = r.ok ? `${name} exit 0${said}` : `${name} ${r.error}${said}`;
  return {
    ok: r.ok,
    observed,
    detail: r.ok ? undefined : `backup verification ${argv.join(' ')} ${r.error}${said}`,
    data: {
      verifyCommand: argv,
      verifyExitCode: r.exitCode,
      verifyLastLine: r.lastLine,
      verifyOutput: r.lines,
      verifyTimedOut: r.timedOut,
    },
  };
}
