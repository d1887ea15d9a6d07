import type { RunContext, RunResult } from '@veloz/shared/contract';
import { describeError, runChecks, type Check, type CheckResult } from '@veloz/shared/checks';
import type { Clock } from '@veloz/shared/clock';
import { connectKube, type Kube } from '@veloz/shared/kube/client';
import { emptyReport, statusOf, type Report } from '@veloz/shared/report';
import { recordSchemaVersion } from '@veloz/shared/schema-version';
import { migrationCheck } from './checks/migration';
import { rejectedCheck } from './checks/rejected';
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
  'rejected',
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
 * pre-deployment snapshot (a backup is a change; it is not taken for a deploy that will not happen)
 * and the record of the schema version the deploy starts from.
 */
export async function run(settings: Readonly<PreflightSettings>, context: RunContext): Promise<RunResult> {
  const started = new Date(context.clock.now());
  const clients = await openClients(settings, context);
  const results = await runChecklist(settings, clients, context);
  const blocking = (r: CheckResult): boolean =>
    r.status === 'fail' || (settings.failOn === 'warn' && r.status !== 'pass' && r.status !== 'skip');
  if (settings.checks.includes('snapshot')) results.push(await takeSnapshot(settings, results.some(blocking), context));
  const failed = results.filter(blocking).map((r) => r.name);
  const ready = failed.length === 0;

  const report = buildReport(settings, results, failed, started);
  const outputs = checklistOutputs(results, ready, failed);
  const warnings = overrideWarnings(results);
  if (ready) await recordSchema(settings, clients, results, { outputs, warnings, report });
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
    outputs,
    warnings,
    failure: ready
      ? undefined
      : `Preflight failed: ${failed.join(', ')}. ${results
          .filter(blocking)
          .map((r) => `${r.name}: ${r.detail ?? r.observed ?? ''}`)
          .join(' | ')}`,
  };
}

async function openClients(s: Readonly<PreflightSettings>, context: RunContext): Promise<Clients> {
  const wanted = s.checks.filter((name) => name !== 'snapshot');
  const clients: Clients = { kubeError: undefined };
  if (wanted.some((name) => KUBE_CHECKS.has(name))) {
    try {
      clients.kube = await connectKube(s.target.kubeconfig, (line) => context.log.info(line));
    } catch (error) {
      clients.kubeError = error;
    }
  }
  const { github } = s.readiness;
  if (github && wanted.some((n) => GITHUB_CHECKS.has(n)))
    clients.gh = await githubRepo(github.token, context.run, github.sha);
  return clients;
}

function runChecklist(s: Readonly<PreflightSettings>, clients: Clients, context: RunContext): Promise<CheckResult[]> {
  const checks = s.checks
    .filter((name) => name !== 'snapshot')
    .map((name) => buildCheck(name, s, clients, context.clock));
  return context.log.group('Pre-deployment checklist (runbook §1)', () =>
    runChecks(checks, {
      clock: context.clock,
      onResult: (r) => context.log.info(`${r.status.toUpperCase().padEnd(6)} ${r.name}: ${r.observed ?? ''}`),
    }),
  );
}

async function takeSnapshot(
  s: Readonly<PreflightSettings>,
  blocked: boolean,
  context: RunContext,
): Promise<CheckResult> {
  const snapshot = snapshotCheck({
    commands: s.snapshot.commands,
    commandTimeoutMs: s.snapshot.timeoutMs,
    timeoutMs: s.snapshot.timeoutMs * s.snapshot.commands.length + 5_000,
  });
  if (blocked) {
    return {
      name: 'snapshot',
      title: snapshot.title,
      status: 'skip',
      observed: 'not taken',
      detail: 'The checklist did not pass, so no pre-deployment snapshot was taken.',
      durationMs: 0,
    };
  }
  const [result] = await context.log.group('Pre-deployment snapshot', () =>
    runChecks([snapshot], { clock: context.clock }),
  );
  return result!;
}

function buildReport(s: Readonly<PreflightSettings>, results: CheckResult[], failed: string[], started: Date): Report {
  const { target } = s;
  const report = emptyReport(
    'preflight',
    `Preflight: runbook §1 checklist for ${target.release} in ${target.namespace}`,
    started,
  );
  report.checks = results;
  report.status = statusOf(results, s.failOn);
  report.headline =
    failed.length === 0
      ? `Ready to deploy${s.image ? ` ${s.image.version}` : ''}: ${results.filter((r) => r.status === 'pass').length} of ${results.length} checks passed${report.status === 'warning' ? ', with warnings' : ''}.`
      : `Do not deploy: ${failed.join(', ')} ${failed.length === 1 ? 'is' : 'are'} not ready. Fix what the table says, then re-run this job.`;
  const { image, revision } = runningNow(results);
  report.facts.push(
    { label: 'Release', value: `${target.release} (${target.driver}) in ${target.namespace}` },
    { label: 'Running now', value: image ? `${image}, revision ${revision}` : 'unknown' },
  );
  if (s.image) report.facts.push({ label: 'To deploy', value: `${s.image.repository}:${s.image.version}` });
  return report;
}

function runningNow(results: readonly CheckResult[]): { image: string; revision: string } {
  const cluster = results.find((r) => r.name === 'cluster')?.data;
  const release = results.find((r) => r.name === 'release')?.data;
  return {
    image: Array.isArray(cluster?.images) ? (cluster.images as string[]).join(',') : '',
    revision: String(release?.revision ?? cluster?.revision ?? ''),
  };
}

function checklistOutputs(results: readonly CheckResult[], ready: boolean, failed: string[]): Record<string, string> {
  const { image, revision } = runningNow(results);
  const outputs: Record<string, string> = {
    ready: String(ready),
    'failed-checks': failed.join(','),
    'current-image': image,
    'current-revision': revision,
    // The engine's sessions before the deploy: validate's "database connections stable" baseline.
    'postgres-connections': String(connectionsOf(results) ?? ''),
  };
  const rejected = results.find((r) => r.name === 'rejected')?.data?.rejected;
  if (typeof rejected === 'string') outputs['rejected-versions'] = rejected;
  return outputs;
}

function connectionsOf(results: readonly CheckResult[]): number | undefined {
  const engine = (results.find((r) => r.name === 'postgres')?.data?.connections as { engine?: number } | undefined)
    ?.engine;
  return typeof engine === 'number' ? engine : undefined;
}

/** Every override (window, notice, rejected version) is a warning with its reason, besides the report row. */
function overrideWarnings(results: readonly CheckResult[]): string[] {
  const label: Record<string, string> = {
    window: 'Deployment window overridden',
    notice: 'Advance notice overridden',
    rejected: 'Rejected version deployed',
  };
  return results
    .filter((r) => label[r.name] && r.data?.override)
    .map((r) =>
      r.name === 'window'
        ? `${label[r.name]}: ${String(r.data!.override)} (${r.observed ?? ''})`
        : `${label[r.name]}: ${String(r.data!.override)}`,
    );
}

/**
 * Runbook §4.4: the schema version this deploy starts from, on the Deployment (a rollback compares
 * it) and as outputs. Only once the checklist passed: a deploy that will not happen records nothing.
 */
async function recordSchema(
  s: Readonly<PreflightSettings>,
  clients: Clients,
  results: readonly CheckResult[],
  into: { outputs: Record<string, string>; warnings: string[]; report: Report },
): Promise<void> {
  const found = results.find((r) => r.name === 'migration')?.data;
  if (!found) return;
  const record = { version: String(found.version), at: String(found.at), query: s.postgres!.migrationQuery! };
  into.outputs['schema-version'] = record.version;
  into.outputs['schema-recorded-at'] = record.at;
  const { namespace, deployment } = s.target;
  try {
    const kube = clients.kube ?? (await connectKube(s.target.kubeconfig));
    await recordSchemaVersion(kube, namespace, deployment, record);
    into.report.facts.push({ label: 'Schema before deploy', value: `${record.version} at ${record.at}` });
  } catch (error) {
    into.warnings.push(
      `Schema version ${record.version} not recorded on deployment/${deployment} in ${namespace} (${describeError(error)}): a rollback with database-restore: auto cannot compare it.`,
    );
  }
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
    case 'migration':
      return migrationCheck({ url: s.postgres!.url, query: s.postgres!.migrationQuery!, timeoutMs });
    case 'rejected':
      return rejectedCheck({
        kube: kube!,
        target: s.target,
        version: s.version!,
        overrideReason: s.window.overrideReason,
        timeoutMs,
      });
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
