/**
 * Issue 13 item 1: a manual rollback is never queued behind an approval nor cancelled by a deploy.
 * GitHub's concurrency rules and the release Lease are simulated over deploy.yml and rollback.yml
 * as written (support/concurrency.ts), and every row of docs/environments.md's "Who waits for
 * whom" table is played as a scenario whose outcome must read exactly as the row.
 */
import { describe, expect, test } from '@jest/globals';
import { formatDuration } from '@veloz/shared/parse';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ConcurrencyGroups,
  modelWorkflow,
  Repository,
  type LeaseOutcome,
  type UnitState,
  type WorkflowModel,
} from './support/concurrency';
import { loadWorkflow, ROOT } from './support/workflows';

const ENV = 'production';
const deploy = (): WorkflowModel =>
  modelWorkflow('deploy.yml', loadWorkflow('.github/workflows/deploy.yml'), { environment: ENV, version: '1.2.0' });
const manualRollback = (): WorkflowModel =>
  modelWorkflow('rollback.yml', loadWorkflow('.github/workflows/rollback.yml'), { environment: ENV, reason: 'x' });
/** Per docs/environments.md: only `<environment>` has required reviewers. */
const repository = (): Repository => new Repository(new Set([ENV]));

describe("GitHub's concurrency rules (the simulator itself)", () => {
  const spec = (queue = false, cancelInProgress = false) => ({ group: 'G', queue, cancelInProgress });

  test('one running, one pending; a newer pending one cancels the older', () => {
    const g = new ConcurrencyGroups();
    expect(g.request('a', spec())).toBe('running');
    expect(g.request('b', spec())).toBe('pending');
    expect(g.request('c', spec())).toBe('pending');
    expect(g.state.get('b')).toBe('cancelled');
    expect(g.release('a')).toBe('c');
    expect([g.state.get('a'), g.state.get('c')]).toEqual(['done', 'running']);
  });

  test('queue: max keeps every pending one, in order', () => {
    const g = new ConcurrencyGroups();
    for (const u of ['a', 'b', 'c', 'd']) g.request(u, spec(true));
    expect(['b', 'c', 'd'].map((u) => g.state.get(u))).toEqual(['pending', 'pending', 'pending']);
    expect(g.release('a')).toBe('b');
    expect(g.release('b')).toBe('c');
  });

  test('cancel-in-progress cancels the running one; group names ignore case; no group never waits', () => {
    const g = new ConcurrencyGroups();
    g.request('a', { ...spec(), group: 'Deploy-Prod' });
    expect(g.request('b', { ...spec(false, true), group: 'deploy-prod' })).toBe('running');
    expect(g.state.get('a')).toBe('cancelled');
    expect(g.request('c', undefined)).toBe('running');
  });
});

describe('the workflows as written', () => {
  test('deploys share a workflow-level group; the manual rollback does not share it', () => {
    const d = deploy();
    const r = manualRollback();
    expect(d.group).toEqual({ group: `deploy-${ENV}`, cancelInProgress: false, queue: false });
    expect(r.group).toBeUndefined();
    const rollbackGroups = Object.values(r.jobs).map((j) => j.group?.group.toLowerCase());
    const deployGroups = [d.group?.group, ...Object.values(d.jobs).map((j) => j.group?.group)]
      .filter(Boolean)
      .map((g) => g!.toLowerCase());
    expect(rollbackGroups.filter((g) => g && deployGroups.includes(g))).toEqual([]);
    expect(r.jobs.rollback!.group).toEqual({ group: `rollback-${ENV}`, cancelInProgress: false, queue: true });
  });

  test('the manual rollback takes the Lease over; deploys wait for it; the automatic rollback does not', () => {
    expect(manualRollback().jobs.rollback!.lease).toEqual({ force: true, waitMs: 120_000 });
    const d = deploy();
    expect(d.jobs.canary!.lease).toEqual({ force: false, waitMs: 120_000 });
    expect(d.jobs.promote!.lease).toEqual({ force: false, waitMs: 120_000 });
    expect(d.jobs.rollback!.lease).toEqual({ force: false, waitMs: 0 });
  });

  test('the manual rollback runs where nobody must approve', () => {
    expect(manualRollback().jobs.rollback!.environment).toBe(`${ENV}-rollback`);
    const repo = repository();
    repo.trigger('r1', manualRollback());
    expect(repo.ready('r1', 'rollback')).toBe('running');
  });
});

/** One row of the table, as the simulation produced it. */
interface Row {
  arriving: string;
  inFlight: string;
  cancelled: string;
}

const template = (group: string): string => group.replace(new RegExp(`${ENV}$`, 'i'), '<environment>');

function arrivingText(state: UnitState, group: string | undefined, lease?: LeaseOutcome): string {
  if (state === 'pending') return `waits, pending in \`${template(group ?? '')}\``;
  if (state !== 'running') return state;
  if (!lease || lease.kind === 'held') return 'runs at once';
  if (lease.kind === 'took-over') return 'runs at once and takes the Lease over';
  return lease.forMs === 0
    ? 'fails at once naming the holder'
    : `runs; its canary waits up to \`lock-wait\` (${formatDuration(lease.forMs)}) for the Lease, then fails naming the holder`;
}

function inFlightText(repo: Repository, unit: string, waitingForReviewers = false): string {
  const preempted = [...repo.preempted].find(([holder]) => holder.startsWith(`${unit}/`));
  if (preempted) return `fails "${preempted[1].replace(/rollback \S+$/, 'rollback <run>')}"`;
  if (repo.state(unit) !== 'running') return repo.state(unit) ?? 'unknown';
  return waitingForReviewers ? 'goes on waiting' : 'goes on';
}

function cancelledText(repo: Repository, deploys: string[]): string {
  const cancelled = [...repo.groups.state].filter(([, s]) => s === 'cancelled').map(([u]) => u);
  if (cancelled.length === 0) return 'nothing';
  if (cancelled.every((u) => deploys.includes(u))) return 'the pending deploy (the newest tag wins)';
  return cancelled.join(', ');
}

/** Runs a deploy up to (and including the start of) `job`. */
function deployUpTo(repo: Repository, run: string, job: string): UnitState | 'waiting-for-reviewers' {
  expect(repo.trigger(run, deploy())).toBe('running');
  let last: UnitState | 'waiting-for-reviewers' = 'running';
  for (const j of ['preflight', 'canary', 'validate-canary', 'promote']) {
    last = repo.ready(run, j);
    if (j === job) return last;
    if (repo.model(run).jobs[j]!.lease) expect(repo.takeLease(run, j)).toEqual({ kind: 'held' });
    repo.finishJob(run, j);
  }
  return last;
}

const SCENARIOS: Record<string, () => Row> = {
  'a deploy | a deploy': () => {
    const repo = repository();
    deployUpTo(repo, 'd1', 'promote');
    const state = repo.trigger('d2', deploy());
    return {
      arriving: arrivingText(state, deploy().group?.group),
      inFlight: inFlightText(repo, 'd1'),
      cancelled: cancelledText(repo, ['d2']),
    };
  },
  'a deploy, and a second one pending | a deploy': () => {
    const repo = repository();
    deployUpTo(repo, 'd1', 'canary');
    repo.trigger('d2', deploy());
    const state = repo.trigger('d3', deploy());
    return {
      arriving: arrivingText(state, deploy().group?.group),
      inFlight: inFlightText(repo, 'd1'),
      cancelled: cancelledText(repo, ['d2']),
    };
  },
  'a deploy waiting at `promote` for its reviewers | a manual rollback': () => {
    const repo = repository();
    expect(deployUpTo(repo, 'd1', 'promote')).toBe('waiting-for-reviewers');
    const state = repo.trigger('r1', manualRollback());
    expect(repo.ready('r1', 'rollback')).toBe('running');
    const lease = repo.takeLease('r1', 'rollback');
    return {
      arriving: arrivingText(state, undefined, lease),
      inFlight: inFlightText(repo, 'd1', true),
      cancelled: cancelledText(repo, []),
    };
  },
  'a deploy whose canary is writing | a manual rollback': () => {
    const repo = repository();
    deployUpTo(repo, 'd1', 'canary');
    expect(repo.takeLease('d1', 'canary')).toEqual({ kind: 'held' });
    const state = repo.trigger('r1', manualRollback());
    expect(repo.ready('r1', 'rollback')).toBe('running');
    const lease = repo.takeLease('r1', 'rollback');
    // The deploy's automatic rollback then meets the manual one and stands back.
    repo.finishJob('d1', 'canary');
    expect(repo.ready('d1', 'rollback')).toBe('running');
    expect(repo.takeLease('d1', 'rollback')).toEqual({ kind: 'waits', forMs: 0, holder: 'r1/rollback' });
    return {
      arriving: arrivingText(state, undefined, lease),
      inFlight: inFlightText(repo, 'd1'),
      cancelled: cancelledText(repo, []),
    };
  },
  'a manual rollback | a deploy': () => {
    const repo = repository();
    repo.trigger('r1', manualRollback());
    repo.ready('r1', 'rollback');
    repo.takeLease('r1', 'rollback');
    const state = repo.trigger('d1', deploy());
    repo.ready('d1', 'preflight');
    repo.finishJob('d1', 'preflight');
    repo.ready('d1', 'canary');
    const lease = repo.takeLease('d1', 'canary');
    const row = { arriving: arrivingText(state, undefined, lease), inFlight: inFlightText(repo, 'r1'), cancelled: '' };
    row.cancelled = cancelledText(repo, []);
    // Once the rollback ends within lock-wait, the canary gets the Lease and proceeds.
    repo.finishJob('r1', 'rollback');
    expect(repo.takeLease('d1', 'canary')).toEqual({ kind: 'held' });
    return row;
  },
  'a manual rollback | a manual rollback': () => {
    const repo = repository();
    repo.trigger('r1', manualRollback());
    repo.ready('r1', 'rollback');
    repo.trigger('r2', manualRollback());
    const state = repo.ready('r2', 'rollback') as UnitState;
    return {
      arriving: arrivingText(state, manualRollback().jobs.rollback!.group?.group),
      inFlight: inFlightText(repo, 'r1'),
      cancelled: cancelledText(repo, []),
    };
  },
  'a manual rollback, and a second one pending | a manual rollback': () => {
    const repo = repository();
    for (const r of ['r1', 'r2']) {
      repo.trigger(r, manualRollback());
      repo.ready(r, 'rollback');
    }
    repo.trigger('r3', manualRollback());
    const state = repo.ready('r3', 'rollback') as UnitState;
    const row = {
      arriving: arrivingText(state, manualRollback().jobs.rollback!.group?.group),
      inFlight: inFlightText(repo, 'r1'),
      cancelled: cancelledText(repo, []),
    };
    // and they run in order
    repo.finishJob('r1', 'rollback');
    expect([repo.state('r2/rollback'), repo.state('r3/rollback')]).toEqual(['running', 'pending']);
    return row;
  },
  "a manual rollback | a deploy's automatic rollback": () => {
    const repo = repository();
    deployUpTo(repo, 'd1', 'promote');
    repo.trigger('r1', manualRollback());
    repo.ready('r1', 'rollback');
    repo.takeLease('r1', 'rollback');
    // the promotion was rejected: the deploy's rollback job starts
    repo.finishJob('d1', 'promote');
    const state = repo.ready('d1', 'rollback') as UnitState;
    const lease = repo.takeLease('d1', 'rollback');
    return {
      arriving: arrivingText(state, undefined, lease),
      inFlight: inFlightText(repo, 'r1'),
      cancelled: cancelledText(repo, []),
    };
  },
};

function docTable(): { key: string; row: Row }[] {
  const doc = readFileSync(join(ROOT, 'docs/environments.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Who waits for whom'));
  const all = section.split('\n');
  const first = all.findIndex((l) => l.startsWith('|'));
  const end = all.findIndex((l, i) => i > first && !l.startsWith('|'));
  const lines = all.slice(first, end);
  const header = lines[0]!.split('|').map((c) => c.trim());
  expect(header.slice(1, 6)).toEqual(['In flight', 'Arrives', 'The arriving run', 'The run in flight', 'Cancelled']);
  return lines.slice(2).map((line) => {
    const [, inFlight, arrives, arriving, running, cancelled] = line.split('|').map((c) => c.trim());
    return { key: `${inFlight} | ${arrives}`, row: { arriving: arriving!, inFlight: running!, cancelled: cancelled! } };
  });
}

describe('docs/environments.md "Who waits for whom", row by row', () => {
  const rows = docTable();

  test('every scenario has its row and every row its scenario', () => {
    expect(rows.map((r) => r.key).sort()).toEqual(Object.keys(SCENARIOS).sort());
  });

  test.each(rows.map((r) => [r.key, r.row] as const))('%s', (key, documented) => {
    expect(SCENARIOS[key]!()).toEqual(documented);
  });

  test('no rollback is ever pending behind a deploy or cancelled, in any order of arrival', () => {
    // Every interleaving of two deploys (one waiting at promote) and three manual rollbacks.
    const arrivals = ['d', 'd', 'r', 'r', 'r'];
    const orders = new Set<string>();
    const permute = (left: string[], acc: string[]): void => {
      if (left.length === 0) orders.add(acc.join(''));
      left.forEach((x, i) => permute([...left.slice(0, i), ...left.slice(i + 1)], [...acc, x]));
    };
    permute(arrivals, []);
    for (const order of orders) {
      const repo = repository();
      const rollbacks: string[] = [];
      [...order].forEach((kind, i) => {
        const id = `${kind}${i}`;
        if (kind === 'd') {
          if (repo.trigger(id, deploy()) === 'running') expect(repo.ready(id, 'preflight')).toBe('running');
        } else {
          rollbacks.push(id);
          expect({ order, id, run: repo.trigger(id, manualRollback()) }).toEqual({ order, id, run: 'running' });
          repo.ready(id, 'rollback');
        }
      });
      for (const id of rollbacks) {
        expect({ order, id, state: repo.state(`${id}/rollback`) }).toEqual({
          order,
          id,
          state: expect.stringMatching(/^(running|pending)$/),
        });
      }
      // a rollback is only ever pending behind another rollback
      const running = rollbacks.filter((id) => repo.state(`${id}/rollback`) === 'running');
      expect({ order, running: running.length }).toEqual({ order, running: 1 });
    }
    expect(orders.size).toBe(10);
  });
});
