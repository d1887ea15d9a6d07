/**
 * The job chain of .github/workflows/deploy.yml, run locally: each job is its action's committed
 * bundle run through the runner protocol (packages/harness), with the inputs deploy.yml passes.
 * Job results and the rollback rule follow GitHub's semantics, so what the demo shows is what the
 * workflow does; __tests__/workflows checks `rollbackRuns` against deploy.yml's `if:`.
 */
import { runActionBundle, type ActionName, type ActionRun } from '@veloz/harness';
import type { Report } from '@veloz/shared/report';
import { readFile } from 'node:fs/promises';

export const JOBS = ['preflight', 'canary', 'validate-canary', 'promote', 'validate', 'rollback'] as const;
export type JobName = (typeof JOBS)[number];
export type JobResult = 'success' | 'failure' | 'skipped' | 'cancelled';

export interface JobOutcome {
  result: JobResult;
  outputs: Record<string, string>;
}
export type Needs = Partial<Record<JobName, JobOutcome>>;

/** deploy.yml's `rollback` condition (a cancelled run never reaches it here: `!cancelled()`). */
export function rollbackRuns(needs: Needs): boolean {
  const result = (job: JobName): JobResult | undefined => needs[job]?.result;
  return (
    result('preflight') === 'success' &&
    (result('canary') === 'failure' ||
      result('validate-canary') === 'failure' ||
      result('promote') === 'failure' ||
      result('validate') === 'failure' ||
      needs.validate?.outputs.verdict === 'rollback')
  );
}

export interface DeployInputs {
  environment: string;
  version: string;
  driver: 'helm' | 'kubectl';
  chart?: string;
  valuesFiles?: string;
  image?: string;
  /** Preflight checks that make sense on the target. */
  preflightChecks: string;
  /** Window inputs (evaluate-at or override-reason) so the demo runs at any hour. */
  window: Record<string, string>;
  validationDuration: string;
  validationInterval: string;
  /** Shortened timings for the demo (SSE/WebSocket timeouts, rollback-error-rate-for …). */
  validateExtra: Record<string, string>;
  /** PostgreSQL and Redis inputs (postgres-url, postgres-application-name, sentinel-addresses). */
  dataTier?: Record<string, string>;
  /** Extra Helm values, one `key=value` per line (deploy.yml's `set`). */
  set?: string;
  /** deploy.yml's traffic-router, http-route, canary-weight and drain-timeout, as passed to canary and promote. */
  router?: { 'traffic-router': string; 'http-route': string; 'canary-weight': string; 'drain-timeout': string };
  /** deploy.yml's gateway-url: validate-canary's second step measures green's share through it. */
  gatewayUrl?: string;
  shareRequests?: string;
}

export interface JobRun extends JobOutcome {
  job: JobName;
  action?: ActionName;
  run?: ActionRun;
  report?: Report;
  /** validate-canary's `share` step (deploy.yml runs it when gateway-url is set). */
  share?: { run: ActionRun; report?: Report };
  durationMs: number;
}

export interface PipelineHooks {
  env: Record<string, string>;
  onJobStart?(job: JobName): void;
  onLine?(job: JobName, line: string): void;
  onJobEnd?(job: JobRun): void;
  /** The promote job's environment gate; the demo approves at once. */
  onApproval?(environment: string): void;
}

/** deploy.yml's data-tier inputs of both validations: preflight's connection count is the baseline. */
function dataTierAfter(d: DeployInputs, needs: Needs): Record<string, string> {
  if (!d.dataTier) return {};
  const counted = needs.preflight?.outputs['postgres-connections'];
  return { ...d.dataTier, ...(counted ? { 'postgres-connections': counted } : {}) };
}

/** The `with:` blocks of deploy.yml for this deploy (secrets and GitHub-only inputs left out). */
export function jobInputs(job: JobName, d: DeployInputs, needs: Needs): Record<string, string> {
  const target = { driver: d.driver };
  const deploy = {
    ...target,
    version: d.version,
    ...(d.chart ? { chart: d.chart } : {}),
    ...(d.valuesFiles ? { 'values-files': d.valuesFiles } : {}),
    ...(d.image ? { image: d.image } : {}),
    ...(d.set ? { set: d.set } : {}),
    ...d.router,
    environment: d.environment,
  };
  switch (job) {
    case 'preflight':
      return {
        ...target,
        checks: d.preflightChecks,
        version: d.version,
        ...(d.image ? { image: d.image } : {}),
        ...d.window,
        ...d.dataTier,
      };
    case 'canary':
      return { ...deploy, phase: 'canary' };
    case 'validate-canary':
      return { ...target, pod: 'canary', duration: '0', ...d.validateExtra, ...dataTierAfter(d, needs) };
    case 'promote':
      return { ...deploy, phase: 'promote' };
    case 'validate':
      return {
        ...target,
        service: 'veloz-engine',
        duration: d.validationDuration,
        interval: d.validationInterval,
        'fail-on-rollback': 'false',
        ...d.validateExtra,
        ...dataTierAfter(d, needs),
      };
    case 'rollback': {
      const reasons = needs.validate?.outputs.reasons;
      const results = `canary ${needs.canary?.result}, canary validation ${needs['validate-canary']?.result}, promotion ${needs.promote?.result}, validation ${needs.validate?.result}`;
      const toRevision = needs.preflight?.outputs['current-revision'];
      return {
        ...target,
        reason: `Deploy of ${d.version} to ${d.environment}: ${reasons || results}`,
        ...(toRevision ? { 'to-revision': toRevision } : {}),
        environment: d.environment,
      };
    }
  }
}

const ACTION_OF: Record<JobName, ActionName> = {
  preflight: 'preflight',
  canary: 'canary',
  'validate-canary': 'validate',
  promote: 'canary',
  validate: 'validate',
  rollback: 'rollback',
};

/** The `with:` of validate-canary's `share` step: the traffic-share check through the Gateway. */
export function shareInputs(d: DeployInputs, needs: Needs): Record<string, string> {
  return {
    url: d.gatewayUrl ?? '',
    checks: 'traffic-share',
    duration: '0',
    'canary-weight': needs.canary?.outputs['canary-weight'] ?? '',
    'canary-version': d.version,
    'share-requests': d.shareRequests ?? '400',
  };
}

/** Which job runs next, by deploy.yml's `needs:` (default `success()`) and the rollback rule. */
function shouldRun(job: JobName, needs: Needs): boolean {
  const ok = (j: JobName): boolean => needs[j]?.result === 'success';
  switch (job) {
    case 'preflight':
      return true;
    case 'canary':
      return ok('preflight');
    case 'validate-canary':
      return ok('preflight') && ok('canary');
    case 'promote':
      return ok('preflight') && ok('canary') && ok('validate-canary');
    case 'validate':
      return ok('preflight') && ok('canary') && ok('validate-canary') && ok('promote');
    case 'rollback':
      return rollbackRuns(needs);
  }
}

export async function runDeploy(d: DeployInputs, hooks: PipelineHooks): Promise<JobRun[]> {
  const needs: Needs = {};
  const runs: JobRun[] = [];
  for (const job of JOBS) {
    if (!shouldRun(job, needs)) {
      const skipped: JobRun = { job, result: 'skipped', outputs: {}, durationMs: 0 };
      needs[job] = skipped;
      runs.push(skipped);
      hooks.onJobEnd?.(skipped);
      continue;
    }
    if (job === 'promote') hooks.onApproval?.(d.environment);
    hooks.onJobStart?.(job);
    const action = ACTION_OF[job];
    const run = await runActionBundle(action, jobInputs(job, d, needs), {
      env: hooks.env,
      onLine: (line) => hooks.onLine?.(job, line),
      timeoutMs: 120_000,
    });
    const outcome: JobRun = {
      job,
      action,
      run,
      result: run.exitCode === 0 ? 'success' : 'failure',
      outputs: run.outputs,
      report: await readReport(run.outputs.report),
      durationMs: run.durationMs,
    };
    // deploy.yml's `share` step: after the green pod's own pass succeeded, only with gateway-url.
    if (job === 'validate-canary' && d.gatewayUrl && outcome.result === 'success')
      await shareStep(outcome, d, needs, hooks);
    needs[job] = outcome;
    runs.push(outcome);
    hooks.onJobEnd?.(outcome);
  }
  return runs;
}

async function shareStep(outcome: JobRun, d: DeployInputs, needs: Needs, hooks: PipelineHooks): Promise<void> {
  const run = await runActionBundle('validate', shareInputs(d, needs), {
    env: hooks.env,
    onLine: (line) => hooks.onLine?.('validate-canary', line),
    timeoutMs: 120_000,
  });
  outcome.share = { run, report: await readReport(run.outputs.report) };
  outcome.outputs = { ...outcome.outputs, 'observed-share': run.outputs['observed-share'] ?? '' };
  outcome.durationMs += run.durationMs;
  if (run.exitCode !== 0) outcome.result = 'failure';
}

async function readReport(path: string | undefined): Promise<Report | undefined> {
  if (!path) return undefined;
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Report;
  } catch {
    return undefined;
  }
}
