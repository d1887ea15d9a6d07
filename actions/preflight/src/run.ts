import type { RunContext, RunResult } from '@veloz/shared/action';
import { describeError, runChecks, type Check, type CheckResult } from '@veloz/shared/checks';
import type { Clock } from '@veloz/shared/clock';
import { connectKube, type Kube } from '@veloz/shared/kube/client';
import { emptyReport, statusOf } from '@veloz/shared/report';
import { backupCheck } from './checks/backup';
import { capacityCheck } from './checks/capacity';
import { clusterCheck } from './checks/cluster';
import { imageCheck } from './checks/image';
import { postgresCheck } from '@veloz/shared/data-tier/postgres';
import { rbacCheck } from './checks/rbac';
import { redisCheck } from '@veloz/shared/data-tier/redis';
import { releaseCheck } from './checks/release';
import { snapshotCheck } from './checks/snapshot';
import { windowCheck } from './checks/window';
import { announceDeployment } from './announce';
import { checklistSection, type Announced } from './checklist';
import { ciCheck } from './checks/ci';
import { githubRepo, type GithubRepo } from './checks/github-repo';
import { monitoringCheck } from './checks/monitoring';
import { networkPolicyCheck } from './checks/network-policy';
import { noticeCheck } from './checks/notice';
import { releaseNotesCheck } from './checks/release-notes';
import { reviewsCheck } from './checks/reviews';
import { securityCheck } from './checks/security';
import type { PreflightCheckName, PreflightSettings } from './inputs';

const KUBE_CHECKS: ReadonlySet<PreflightCheckName> = new Set([
  'cluster',
  'capacity',
  'release',
  'rbac',
  'network-policy',
]);
const GITHUB_CHECKS: ReadonlySet<PreflightCheckName> = new Set([
  'ci',
  'reviews',
  'security',
  'release-notes',
  'notice',
]);

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

  const { github } = settings.readiness;
  const gh =
    github && wanted.some((n) => GITHUB_CHECKS.has(n))
      ? await githubRepo(github.token, context.run, github.sha)
      : undefined;
  const checks = wanted.map((name) => buildCheck(name, settings, { kube, kubeError, gh }, context.clock));
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
  const notice = results.find((r) => r.name === 'notice');
  if (notice?.data?.override) warnings.push(`Advance notice overridden: ${String(notice.data.override)}`);
  let announced: Announced = { oncall: 'not-sent', statusPage: 'not-sent' };
  if (ready && settings.version) {
    const done = await announceDeployment(settings.readiness, settings.version, context);
    announced = done.announced;
    report.notifications.push(...done.notifications);
    warnings.push(...done.warnings);
  }
  report.sections.push(checklistSection(results, announced));
  return {
    report,
    outputs: {
      ready: String(ready),
      'failed-checks': failed.join(','),
      'current-image': currentImage,
      'current-revision': currentRevision,
      // The engine's sessions before the deploy: validate's "database connections stable" baseline.
      'postgres-connections': String(connectionsOf(results) ?? ''),
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

function connectionsOf(results: CheckResult[]): number | undefined {
  const engine = (results.find((r) => r.name === 'postgres')?.data?.connections as { engine?: number } | undefined)
    ?.engine;
  return typeof engine === 'number' ? engine : undefined;
}

interface Clients {
  kube?: Kube;
  kubeError: unknown;
  gh?: GithubRepo;
}

function buildCheck(name: PreflightCheckName, s: Readonly<PreflightSettings>, c: Clients, clock: Clock): Check {
  const timeoutMs = s.checkTimeoutMs;
  const { kube } = c;
  if (KUBE_CHECKS.has(name) && !kube) return unreachable(name, c.kubeError);
  if (GITHUB_CHECKS.has(name) || name === 'network-policy' || name === 'monitoring') return readinessCheck(name, s, c);
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
      return postgresCheck({ ...s.postgres!, connections: s.postgres!.sessions, timeoutMs });
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
    default:
      throw new Error(`${name} is not built here`);
  }
}

/** The §1.1 items beyond the cluster and its databases (code quality, network, monitoring, notice). */
function readinessCheck(name: PreflightCheckName, s: Readonly<PreflightSettings>, c: Clients): Check {
  const timeoutMs = s.checkTimeoutMs;
  const github = s.readiness.github;
  switch (name) {
    case 'ci':
      return ciCheck(c.gh!, github!.requiredChecks, timeoutMs);
    case 'reviews':
      return reviewsCheck(c.gh!, github!.minApprovals, timeoutMs);
    case 'security':
      return securityCheck(c.gh!, github!.maxSeverity, timeoutMs);
    case 'release-notes':
      return releaseNotesCheck({ version: s.version!, gh: c.gh, path: s.readiness.releaseNotesPath, timeoutMs });
    case 'notice':
      return noticeCheck({
        gh: c.gh!,
        version: s.version!,
        hours: github!.noticeHours,
        label: github!.noticeLabel,
        overrideReason: s.window.overrideReason,
        timeoutMs,
      });
    case 'network-policy':
      return networkPolicyCheck(c.kube!, s.target, timeoutMs);
    case 'monitoring':
      return monitoringCheck(s.readiness.monitoring, timeoutMs);
    default:
      throw new Error(`${name} is not a readiness check`);
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
