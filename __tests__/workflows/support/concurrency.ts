/**
 * GitHub's concurrency rules and our release Lease, simulated over the real workflow files.
 *
 * Concurrency (GitHub docs): a group has at most one running unit (a workflow run with a
 * workflow-level group, or a job with a job-level group); a unit queued while the group is busy
 * is pending; a newly pending unit cancels the pending one unless the group sets `queue` (then up
 * to 100 wait in order); `cancel-in-progress` also cancels the running one. Group names ignore
 * case. A workflow-level group is held for the whole run, including a job waiting for its
 * environment's reviewers; a job-level group is held by the job from the moment it is ready,
 * including while it waits for reviewers.
 *
 * Lease (packages/shared/src/kube/lock.ts): a canary or rollback step holds it while it writes; a
 * step with `force: true` takes it over (the holder is fenced and fails "preempted by rollback");
 * otherwise the step waits up to its `lock-wait` and then fails naming the holder.
 */
import { parseDuration } from '@veloz/shared/parse';
import { loadAction, ourAction, type Job, type Workflow } from './workflows';

export interface GroupSpec {
  group: string;
  cancelInProgress: boolean;
  queue: boolean;
}

export type UnitState = 'running' | 'pending' | 'cancelled' | 'done';

const MAX_QUEUE = 100;

/** One repository's concurrency groups. Units are opaque ids (a run, or run/job). */
export class ConcurrencyGroups {
  private readonly groups = new Map<string, { running?: string; pending: string[] }>();
  private readonly held = new Map<string, string>();
  readonly state = new Map<string, UnitState>();

  request(unit: string, spec: GroupSpec | undefined): UnitState {
    if (!spec) return this.set(unit, 'running');
    const key = spec.group.toLowerCase();
    const g = this.groups.get(key) ?? { pending: [] };
    this.groups.set(key, g);
    this.held.set(unit, key);
    if (spec.cancelInProgress) {
      for (const u of [g.running, ...g.pending]) if (u) this.set(u, 'cancelled');
      g.pending = [];
      g.running = unit;
      return this.set(unit, 'running');
    }
    if (!g.running) {
      g.running = unit;
      return this.set(unit, 'running');
    }
    if (!spec.queue || g.pending.length >= MAX_QUEUE) {
      for (const u of g.pending) this.set(u, 'cancelled');
      g.pending = [];
    }
    g.pending.push(unit);
    return this.set(unit, 'pending');
  }

  /** The unit ended (done or cancelled by its own run): the next pending one starts. */
  release(unit: string): string | undefined {
    if (this.state.get(unit) !== 'cancelled') this.set(unit, 'done');
    const key = this.held.get(unit);
    const g = key === undefined ? undefined : this.groups.get(key);
    if (!g || g.running !== unit) return undefined;
    g.running = g.pending.shift();
    if (g.running) this.set(g.running, 'running');
    return g.running;
  }

  private set(unit: string, state: UnitState): UnitState {
    this.state.set(unit, state);
    return state;
  }
}

/** What a job of a workflow file does that matters here, with the caller's inputs substituted. */
export interface JobModel {
  name: string;
  group?: GroupSpec;
  environment?: string;
  /** A canary or rollback step: it holds the release Lease while it writes. */
  lease?: { force: boolean; waitMs: number };
}

export interface WorkflowModel {
  file: string;
  group?: GroupSpec;
  jobs: Record<string, JobModel>;
}

type Inputs = Record<string, string>;

/** `${{ inputs.x }}` substituted (workflow_call defaults apply); anything else is left as written. */
export function substitute(text: string, inputs: Inputs): string {
  return text.replace(/\$\{\{\s*inputs\.([\w-]+)\s*\}\}/g, (whole, name: string) => inputs[name] ?? whole);
}

function groupSpec(raw: Job['concurrency'] | Workflow['concurrency'], inputs: Inputs): GroupSpec | undefined {
  if (!raw) return undefined;
  const c = typeof raw === 'string' ? { group: raw } : raw;
  return {
    group: substitute(c.group, inputs),
    cancelInProgress: String(c['cancel-in-progress'] ?? false) === 'true',
    queue: c.queue === 'max',
  };
}

function environmentName(job: Job, inputs: Inputs): string | undefined {
  const env = job.environment;
  if (env === undefined) return undefined;
  return substitute(typeof env === 'string' ? env : env.name, inputs);
}

function leaseOf(job: Job, inputs: Inputs): JobModel['lease'] {
  const step = (job.steps ?? []).find((s) => ['canary', 'rollback'].includes(ourAction(s.uses) ?? ''));
  if (!step) return undefined;
  const action = ourAction(step.uses)!;
  const defaults = loadAction(action).inputs;
  const value = (name: string): string =>
    substitute(String(step.with?.[name] ?? defaults[name]?.default ?? ''), inputs);
  return { force: value('force') === 'true', waitMs: parseDuration(value('lock-wait')) };
}

export function modelWorkflow(file: string, workflow: Workflow, given: Inputs): WorkflowModel {
  const inputs: Inputs = {};
  for (const trigger of Object.values(workflow.on)) {
    for (const [name, spec] of Object.entries(trigger?.inputs ?? {}))
      if (spec.default !== undefined) inputs[name] = String(spec.default);
  }
  Object.assign(inputs, given);
  const jobs: Record<string, JobModel> = {};
  for (const [name, job] of Object.entries(workflow.jobs)) {
    jobs[name] = {
      name,
      group: groupSpec(job.concurrency, inputs),
      environment: environmentName(job, inputs),
      lease: leaseOf(job, inputs),
    };
  }
  return { file, group: groupSpec(workflow.concurrency, inputs), jobs };
}

export type LeaseOutcome =
  { kind: 'held' } | { kind: 'took-over'; from: string } | { kind: 'waits'; forMs: number; holder: string };

/**
 * Runs of workflow models in one repository: their concurrency groups, environment reviews and
 * the release Lease of one environment. Steps are driven by the test, one event at a time.
 */
export class Repository {
  readonly groups = new ConcurrencyGroups();
  private readonly runs = new Map<string, WorkflowModel>();
  /** run/job currently holding the release Lease. */
  leaseHolder?: string;
  /** Jobs failed by a takeover, with the message their run ends with. */
  readonly preempted = new Map<string, string>();

  constructor(private readonly reviewed: Set<string>) {}

  /** A run is triggered: it is running, or pending on its workflow-level group. */
  trigger(run: string, model: WorkflowModel): UnitState {
    this.runs.set(run, model);
    return this.groups.request(run, model.group);
  }

  /** A job of a running run becomes ready: its job-level group, then its environment's review. */
  ready(run: string, job: string): UnitState | 'waiting-for-reviewers' {
    const model = this.model(run);
    if (this.groups.state.get(run) !== 'running') throw new Error(`${run} is not running`);
    const j = model.jobs[job];
    if (!j) throw new Error(`${model.file} has no job ${job}`);
    const state = this.groups.request(`${run}/${job}`, j.group);
    if (state === 'running' && j.environment && this.reviewed.has(j.environment.toLowerCase()))
      return 'waiting-for-reviewers';
    return state;
  }

  /** The job's canary/rollback step asks for the Lease. */
  takeLease(run: string, job: string): LeaseOutcome {
    const lease = this.model(run).jobs[job]?.lease;
    if (!lease) throw new Error(`${run}/${job} runs no canary or rollback step`);
    const me = `${run}/${job}`;
    const holder = this.leaseHolder;
    if (!holder || holder === me) {
      this.leaseHolder = me;
      return { kind: 'held' };
    }
    if (lease.force) {
      this.preempted.set(holder, `preempted by rollback ${run}`);
      this.leaseHolder = me;
      return { kind: 'took-over', from: holder };
    }
    return { kind: 'waits', forMs: lease.waitMs, holder };
  }

  finishJob(run: string, job: string): void {
    const unit = `${run}/${job}`;
    if (this.leaseHolder === unit) this.leaseHolder = undefined;
    this.groups.release(unit);
  }

  finishRun(run: string): string | undefined {
    return this.groups.release(run);
  }

  state(unit: string): UnitState | undefined {
    return this.groups.state.get(unit);
  }

  model(run: string): WorkflowModel {
    const m = this.runs.get(run);
    if (!m) throw new Error(`unknown run ${run}`);
    return m;
  }
}
