/**
 * Runbook §1.2 step 6, the pre-deployment snapshot (backup_postgres.sh -t full, backup_wal.sh):
 * commands run in order without a shell, each with its own timeout; the first failure stops the rest.
 */
import { type Check, defineCheck } from '@veloz/shared/checks';
import { runCommand, type CommandResult } from '@veloz/shared/command';
import { formatDuration } from '@veloz/shared/parse';

interface SnapshotCheckSettings {
  /** Already-split argv per command, in order. */
  commands: readonly (readonly string[])[];
  /** Timeout for each command. */
  commandTimeoutMs: number;
  timeoutMs: number;
  /** Output lines kept per command in the report data (the most recent). Default 50. */
  maxLines?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

interface Step {
  command: string;
  status: 'ok' | 'failed' | 'not run';
  exitCode?: number | null;
  durationMs?: number;
  lastLine?: string;
  error?: string;
  output?: string[];
}

export function snapshotCheck(settings: SnapshotCheckSettings): Check {
  return defineCheck('snapshot', 'Pre-deployment snapshot', settings.timeoutMs, async ({ signal }) => {
    if (settings.commands.length === 0) return { status: 'skip', detail: 'no snapshot-commands configured' };
    const steps: Step[] = settings.commands.map((argv) => ({ command: argv.join(' '), status: 'not run' }));
    let failure: { index: number; result: CommandResult } | undefined;
    for (const [index, argv] of settings.commands.entries()) {
      const result = await runCommand(argv, {
        timeoutMs: settings.commandTimeoutMs,
        signal,
        cwd: settings.cwd,
        env: settings.env,
        maxLines: settings.maxLines ?? 50,
      });
      Object.assign(steps[index]!, {
        status: result.ok ? 'ok' : 'failed',
        exitCode: result.exitCode,
        durationMs: result.durationMs,
        lastLine: result.lastLine,
        error: result.error,
        output: result.lines,
      });
      if (!result.ok) {
        failure = { index, result };
        break;
      }
    }
    const n = settings.commands.length;
    const data = { steps };
    if (!failure) {
      const total = steps.reduce((t, x) => t + (x.durationMs ?? 0), 0);
      return {
        status: 'pass',
        observed: `${n}/${n} snapshot command(s) succeeded in ${formatDuration(total)}`,
        threshold: 'every command exits 0',
        detail: steps.map((x) => `${x.command}: ${x.lastLine || 'ok'}`).join('; '),
        data,
      };
    }
    const { index, result } = failure;
    const skipped = steps.filter((x) => x.status === 'not run').map((x) => x.command);
    return {
      status: 'fail',
      observed: `step ${index + 1}/${n} failed: ${steps[index]!.command} ${result.error}`,
      threshold: 'every command exits 0',
      detail: [
        `${steps[index]!.command} ${result.error}${result.lastLine ? `; last output: ${result.lastLine}` : ''}`,
        skipped.length ? `not run: ${skipped.join(', ')}` : '',
        'do not deploy without a snapshot: fix the backup job and re-run',
      ]
        .filter(Boolean)
        .join('; '),
      data,
    };
  });
}
