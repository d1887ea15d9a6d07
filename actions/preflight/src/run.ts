import type { RunContext, RunResult } from '@veloz/shared/action';
import { describeError, runChecks, type Check, type CheckResult } from '@veloz/shared/checks';
import type { Clock } from '@veloz/shared/clock';
import { connectKube, type Kube } from '@veloz/shared/kube/client';
import { emptyReport, statusOf } from '@veloz/shared/report';
import { backupCheck } from './checks/backup';
import { capacityCheck } from './checks/capacity';
import { clusterCheck } from './checks/cluster';
import { imageCheck } from './checks/image';
import { postgresCheck } from './checks/postgres';
import { rbacCheck } from './checks/rbac';
import { redisCheck } from './checks/redis';
import { releaseCheck } from './checks/release';
import { snapshotCheck } from './checks/snapshot';
import { windowCheck } from './checks/window';
import type { PreflightCheckName, PreflightSettings } from './inputs';

const KUBE_CHECKS: ReadonlySet<PreflightCheckName> = new Set(['cluster', 'capacity', 'release', 'rbac']);

/**
 * Runbook §1: every selected check concurrently, then — only when the checklist passed — the
 * pre-deployment snapshot (a backup is a change; it is not taken for a deploy that will not happen).
 */
export async function run(settings: Readonly<PreflightSettings>, context: RunContext): Promise<RunResult> {
  const started = new Date(context.clock.now());
  const { target } = settings;
  const wanted = settings.checks.filter((name) => name !== 'snapshot');

  let kube: Kube | undefined;
  let kubeError: unknown;
  if (wanted.some((name) => KUBE_CHECKS.has(name))) {
    try {
      kube = await connectKube(target.kubeconfig, (line) => context.log.info(line));
    } catch (error) {
      kubeError = error;
    }
  }

  const checks = wanted.map((name) => buildCheck(name, settings, kube, kubeError, context.clock));
  const results = await context.log.group('Pre-deployment checklist (runbook §1)', () =>
    runChecks(checks, {
      clock: context.clock,
      onResult: (r) => context.log.info(`${r.status.toUpperCase().padEnd(6)} ${r.name}: ${r.observed ?? ''}`),
    }),
  );

  const blocking = (r: CheckResult): boolean =>
    r.status === 'fail' || (settings.failOn === 'warn' && r.status !== 'pass' && r.status !== 'skip');
  if (settings.checks.includes('snapshot')) {
    const snapshot = snapshotCheck({
      commands: settings.snapshot.commands,
      commandTimeoutMs: settings.snapshot.timeoutMs,
      timeoutMs: settings.snapshot.timeoutMs * settings.snapshot.commands.length + 5_000,
    });
    if (results.some(blocking)) {
      results.push({
        name: 'snapshot',
        title: snapshot.title,
        status: 'skip',
        observed: 'not taken',
        detail: 'The checklist did not pass, so no pre-deployment snapshot was taken.',
        durationMs: 0,
      });
    } else {
      results.push(
        ...(await context.log.group('Pre-deployment snapshot', () => runChecks([snapshot], { clock: context.clock }))),
      );
    }
  }

  const report = emptyReport(
    'preflight',
    `Preflight: runbook §1 checklist for ${target.release} in ${target.namespace}`,
    started,
  );
  report.checks = results;
  report.status = statusOf(results, settings.failOn);
  const failed = results.filter(blocking).map((r) => r.name);
  const ready = failed.length === 0;
  report.headline = ready
    ? `Ready to deploy${settings.image ? ` ${settings.image.version}` : ''}: ${results.filter((r) => r.status === 'pass').length} of ${results.length} checks passed${report.status === 'warning' ? ', with warnings' : ''}.`
    : `Do not deploy: ${failed.join(', ')} ${failed.length === 1 ? 'is' : 'are'} not ready. Fix what the table says, then re-run this job.`;

  const cluster = results.find((r) => r.name === 'cluster')?.data;
  const release = results.find((r) => r.name === 'release')?.data;
  const currentImage = Array.isArray(cluster?.images) ? (cluster.images as string[]).join(',') : '';
  const currentRevision = String(release?.revision ?? cluster?.revision ?? '');
  report.facts.push(
    { label: 'Release', value: `${target.release} (${target.driver}) in ${target.namespace}` },
    { label: 'Running now', value: currentImage ? `${currentImage}, revision ${currentRevision}` : 'unknown' },
  );
  if (settings.image)
    report.facts.push({ label: 'To deploy', value: `${settings.image.repository}:${settings.image.version}` });

  const warnings: string[] = [];
  const window = results.find((r) => r.name === 'window');
  if (window?.data?.override) {
    warnings.push(`Deployment window overridden: ${String(window.data.override)} (${window.observed ?? ''})`);
  }
  return {
    report,
    outputs: {
      ready: String(ready),
      'failed-checks': failed.join(','),
      'current-image': currentImage,
      'current-revision': currentRevision,
    },
    warnings,
    failure: ready
      ? undefined
      : `Preflight failed: ${failed.join(', ')}. ${results
          .filter(blocking)
          .map((r) => `${r.name}: ${r.detail ?? r.observed ?? ''}`)
          .join(' | ')}`,
  };
}

function buildCheck(
  name: PreflightCheckName,
  s: Readonly<PreflightSettings>,
  kube: Kube | undefined,
  kubeError: unknown,
  clock: Clock,
): Check {
  const timeoutMs = s.checkTimeoutMs;
  if (KUBE_CHECKS.has(name) && !kube) return unreachable(name, kubeError);
  switch (name) {
    case 'cluster':
      return clusterCheck(kube!, s.target, timeoutMs);
    case 'capacity':
      return capacityCheck(kube!, s.target, s.replicas, timeoutMs);
    case 'release':
      return releaseCheck(kube!, s.target, timeoutMs);
    case 'rbac':
      return rbacCheck(kube!, s.target.namespace, timeoutMs);
    case 'image':
      return imageCheck({ ...s.image!, tag: s.image!.version, timeoutMs });
    case 'postgres':
      return postgresCheck({ ...s.postgres!, timeoutMs });
    case 'backup':
      return backupCheck({
        maxAgeMs: s.backup.maxAgeMs,
        verifyCommand: s.backup.verifyCommand,
        path: s.backup.path,
        timeoutMs,
      });
    case 'redis':
      return redisCheck({
        sentinels: s.redis!.sentinels,
        masterName: s.redis!.master,
        password: s.redis!.password,
        minReplicas: s.redis!.minReplicas,
        timeoutMs,
      });
    case 'window': {
      const check = windowCheck({ policy: s.window.policy, overrideReason: s.window.overrideReason, timeoutMs });
      const at = s.window.evaluateAt?.getTime();
      // Rehearsal: evaluate the window at the given time instead of now.
      return at === undefined
        ? check
        : { ...check, run: (ctx) => check.run({ ...ctx, clock: { ...clock, now: () => at } }) };
    }
    case 'snapshot':
      throw new Error('snapshot runs after the checklist');
  }
}

function unreachable(name: PreflightCheckName, error: unknown): Check {
  return {
    name,
    title: name,
    timeoutMs: 1000,
    run: async () => ({
      status: 'fail',
      observed: 'no cluster connection',
      detail: `Could not connect to Kubernetes: ${describeError(error)}`,
    }),
  };
}
