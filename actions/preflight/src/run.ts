import type { RunContext, RunResult } from '@veloz/shared/contract';
import { describeError, runChecks, type CheckResult } from '@veloz/shared/checks';
import { connectKube } from '@veloz/shared/kube/client';
import { emptyReport, statusOf, type Report } from '@veloz/shared/report';
import { recordSchemaVersion } from '@veloz/shared/schema-version';
import { announceDeployment } from './announce';
import { buildCheck, type Clients } from './build-checks';
import { checklistSection, type Announced } from './checklist';
import { githubRepo } from './checks/github-repo';
import { snapshotCheck } from './checks/snapshot';
import type { PreflightSettings } from './inputs';
import { entryOf, type ChecklistCheckName } from './registry';

/** The checks the checklist runs concurrently (the snapshot waits for their verdict). */
function checklistChecks(s: Readonly<PreflightSettings>): ChecklistCheckName[] {
  return s.checks.filter((name): name is ChecklistCheckName => !entryOf(name).afterChecklist);
}

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
  const wanted = checklistChecks(s).map(entryOf);
  const clients: Clients = { kubeError: undefined };
  if (wanted.some((entry) => entry.client === 'kube')) {
    try {
      clients.kube = await connectKube(s.target.kubeconfig, (line) => context.log.info(line));
    } catch (error) {
      clients.kubeError = error;
    }
  }
  const { github } = s.readiness;
  // `rejected` reads the rejections every cluster of the release recorded on GitHub, when it can.
  if (github && wanted.some((entry) => entry.client === 'github' || entry.name === 'rejected'))
    clients.gh = await githubRepo(github.token, context.workflowRun, github.sha);
  return clients;
}

function runChecklist(s: Readonly<PreflightSettings>, clients: Clients, context: RunContext): Promise<CheckResult[]> {
  const checks = checklistChecks(s).map((name) => buildCheck(name, s, clients, context.clock));
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
