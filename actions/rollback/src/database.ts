/**
 * Runbook §4.4: with the engine stopped (0 replicas, no pod left), run the restore commands in order
 * — point-in-time recovery, then WAL — each without a shell and with its own timeout.
 */
import { runCommand, summarizeCommand } from '@veloz/shared/command';
import type { Clock } from '@veloz/shared/clock';
import type { Kube } from '@veloz/shared/kube/client';
import { mutateDeployment } from '@veloz/shared/kube/deployment-edits';
import { ownPods } from '@veloz/shared/kube/pods';
import { splitCommandLine } from '@veloz/shared/command';
import { singleLine } from '@veloz/shared/secrets';

/**
 * §4.4 step 1: scale the release to 0 and wait until none of its own pods remains (terminating pods
 * still hold database connections). `onScaled` hears the replica count before, once the scale is
 * written, so a wait that fails can be undone.
 */
export async function scaleToZero(
  kube: Kube,
  namespace: string,
  name: string,
  clock: Clock,
  timeoutMs: number,
  onScaled: (replicasBefore: number) => void = () => {},
): Promise<number> {
  let before = 0;
  await mutateDeployment(kube, namespace, name, (d) => {
    before = d.spec?.replicas ?? 1;
    if (d.spec) d.spec.replicas = 0;
  });
  onScaled(before);
  const d = await kube.apps.readNamespacedDeployment({ name, namespace });
  const deadline = clock.now() + timeoutMs;
  for (;;) {
    const pods = await ownPods(kube, d);
    if (pods.length === 0) return before;
    if (clock.now() > deadline) {
      throw new Error(
        `${pods.length} pod(s) still running after scaling to 0: ${pods.map((p) => p.metadata?.name).join(', ')}`,
      );
    }
    await clock.sleep(250);
  }
}

interface RestoreStep {
  command: string;
  ok: boolean;
  durationMs: number;
  summary: string;
}

/**
 * One command after another; `fence` runs before each, so a run that lost the release lock starts no
 * further command (the one running is left to finish: a restore cut halfway is worse than either end).
 */
export async function runRestoreCommands(
  commands: readonly string[],
  recoveryTime: Date,
  timeoutMs: number,
  onLine: (line: string) => void,
  fence: (nextStep: string) => void = () => {},
): Promise<RestoreStep[]> {
  const steps: RestoreStep[] = [];
  const time = recoveryTime.toISOString().replace(/\.000Z$/, 'Z');
  for (const line of commands) {
    const argv = splitCommandLine(line).map((arg) => arg.replaceAll('{recovery-time}', time));
    fence(`the restore command ${argv[0] ?? line}`);
    const result = await runCommand(argv, { timeoutMs, onLine });
    const step = {
      command: argv.join(' '),
      ok: result.ok,
      durationMs: result.durationMs,
      summary: summarizeCommand(result),
    };
    steps.push(step);
    if (!result.ok) break;
  }
  return steps;
}

/** Runbook §5.2: a database restore is the database on-call's (L3) business; notify-routes sends it there. */
export function databaseRestoreText(notice: {
  service: string;
  recoveryTime: Date;
  reason: string;
  status: 'IN PROGRESS' | 'COMPLETE' | 'FAILED';
  detail?: string;
}): string {
  return [
    'DATABASE RESTORE',
    `Service: ${notice.service}`,
    `Recovery Time: ${notice.recoveryTime.toISOString()}`,
    `Reason: ${singleLine(notice.reason)}`,
    `Status: ${notice.status}`,
    ...(notice.detail ? [`Detail: ${singleLine(notice.detail)}`] : []),
  ].join('\n');
}
