/**
 * Figure 11 — a forced rollback preempting a live canary (round two's "deploy waiting while on-call
 * needs to roll back"): from the rollback's takeover of the release Lease to its first write, when the
 * canary sees the takeover through its Lease watch and marks the Lease stopped once its helm has
 * exited, against the same run with the canary's Lease watch failing (it then notices at its next
 * renewal, a third of `lock-ttl` away: how every takeover worked before the watch).
 */
import { CANARY_USER, NAMESPACE, preemptableCanary, withBenchCluster, type BenchCluster } from './cluster';
import { alternating, ms, sleep, spread, stats, type RepeatedRuns, type Section } from './lib';

const WRITES = ['create', 'update', 'patch', 'delete'];
const MODES = ['lease watch', 'watch failing (renewal only)'] as const;
type Mode = (typeof MODES)[number];

interface Sample {
  /** Takeover (the rollback's Lease update) to the rollback's first other write. */
  waitMs: number;
  /** The rollback action's own time (`duration-seconds`). */
  rollbackMs: number;
}

async function pendingUpgrade(c: BenchCluster): Promise<void> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    const history = await c.helm('helm3', ['history', 'veloz', '-n', NAMESPACE, '-o', 'json']);
    const last = (JSON.parse(history.stdout || '[]') as { status: string }[]).at(-1);
    if (last?.status === 'pending-upgrade') return;
    await sleep(200);
  }
  throw new Error('the canary never reached pending-upgrade');
}

function once(mode: Mode, o: RepeatedRuns): Promise<Sample> {
  return withBenchCluster({ podStartupDelayMs: o.podStartupDelayMs }, async (c) => {
    await c.install('1.1.0');
    await c.install('1.2.0');
    const inputs = preemptableCanary(c.sandbox, '60s', { timeout: '3m' });
    if (mode !== 'lease watch')
      c.sandbox.faults.add({ verbs: ['list', 'watch'], resources: ['leases'], action: { type: 'status', code: 503 } });
    const canary = c.action('canary', inputs, { env: { GITHUB_RUN_ID: '1001' } });
    await pendingUpgrade(c);
    const rollback = await c.action('rollback', {
      reason: 'bench: preempt the canary',
      force: 'true',
      timeout: '120s',
    });
    const fenced = await canary;
    if (rollback.exitCode !== 0) throw new Error(`${mode}: rollback failed: ${rollback.errors.join(' | ')}`);
    if (fenced.exitCode !== 1) throw new Error(`${mode}: the canary was not fenced (exit ${fenced.exitCode})`);
    const journal = c.sandbox.journal.list().filter((e) => e.user !== CANARY_USER && WRITES.includes(e.verb));
    const takeover = journal.find((e) => e.resource === 'leases' && e.verb === 'update');
    const write = journal.find((e) => e.resource !== 'leases' && takeover && e.time > takeover.time);
    if (!takeover || !write) throw new Error(`${mode}: no takeover or no write by the rollback in the journal`);
    return {
      waitMs: Date.parse(write.time) - Date.parse(takeover.time),
      rollbackMs: Number(rollback.outputs['duration-seconds']) * 1000,
    };
  });
}

export async function takeoverFigure(o: RepeatedRuns): Promise<Section> {
  const samples = await alternating('takeover', MODES, o.repeats, (mode) => once(mode, o));
  const wait = (mode: Mode) => stats(samples[mode].map((s) => s.waitMs));
  const own = (mode: Mode) => stats(samples[mode].map((s) => s.rollbackMs));
  const watched = wait('lease watch').median;
  const renewal = wait('watch failing (renewal only)').median;
  return {
    key: 'takeover',
    title: '11. Forced rollback preempting a live canary',
    goal: 'the rollback writes within 5 s of taking the Lease over (median), with the canary fenced',
    met: watched <= 5000,
    verdict:
      `Takeover to the rollback's first write: ${ms(watched)} when the canary watches its Lease, ${ms(renewal)} when ` +
      `its watch fails and it notices at its next renewal (${(renewal / Math.max(1, watched)).toFixed(1)}× longer). ` +
      'Every canary was fenced (exit 1, helm interrupted).',
    tables: [
      {
        columns: ['canary', 'takeover → first write (median)', 'min', 'max', 'rollback action, own time (median)'],
        rows: MODES.map((mode) => [mode, ...spread(wait(mode)), ms(own(mode).median)]),
      },
    ],
    method:
      `${o.repeats} run(s) per mode, alternating, each on a fresh sandbox (pod start-up ${o.podStartupDelayMs} ms) with ` +
      '1.1.0 then 1.2.0 installed. The canary bundle (node24, helm 3, in-place, default `lock-ttl` 2m) deploys 1.3.0, whose ' +
      'pods take 60 s to become Ready; once helm has recorded `pending-upgrade` the rollback bundle runs with `force: true`. ' +
      "The figure is the time between two journal entries of the sandbox API: the rollback's update of the Lease (the " +
      'takeover) and its next write to anything else. In the second mode every list and watch of Leases answers 503, so ' +
      'the canary only learns of the takeover when it renews (every 40 s): that is how a takeover worked before the ' +
      "Lease watch, and what a holder whose watch is down still gets. The rollback never waits past the holder's renewal " +
      'bound (its next renewal + 3 s, at most 60 s).',
  };
}
