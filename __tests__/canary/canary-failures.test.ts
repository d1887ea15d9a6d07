import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { CHART, VALUES_PRODUCTION, startCluster, type Cluster } from '../support/cluster';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await startCluster();
  await cluster.install('1.0.0');
}, 120_000);
afterAll(async () => cluster?.stop());
afterEach(async () => {
  cluster.sandbox.faults.clear();
  await cluster.install('1.0.0'); // back to a healthy release for the next case
}, 120_000);

function canary(inputs: Record<string, string>) {
  return runActionBundle(
    'canary',
    {
      chart: CHART,
      'values-files': VALUES_PRODUCTION,
      phase: 'canary',
      strategy: 'in-place',
      timeout: '60s',
      ...inputs,
    },
    { env: cluster.env, timeoutMs: 120_000 },
  );
}

async function latestStatus(): Promise<string> {
  const history = await cluster.helmRevisions();
  return history[history.length - 1]!.status;
}

describe('the canary fails fast and says why', () => {
  test.each([
    ['crashloop', /crash-looping \(CrashLoopBackOff, \d+ restarts/],
    ['missing', /cannot pull its image \((ErrImagePull|ImagePullBackOff)\)/],
    ['oom', /was OOM-killed/],
  ])('a %s image', async (profile, reason) => {
    const version = `2.0.0-${profile}`;
    cluster.sandbox.setProfile(`veloz/engine:${version}`, profile);
    const run = await canary({ version });
    expect(run.exitCode).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toMatch(reason);
    expect(run.errors[0]).toMatch(/Pod veloz-engine-[a-z0-9]+-[a-z0-9]+, container veloz-engine/);
    // helm --wait was interrupted, not left polling: the release records the failure
    expect(await latestStatus()).toBe('failed');
    expect(run.summary).toContain('kubectl describe pod -n veloz veloz-engine-');
    expect(run.summary).toMatch(/helm rollback veloz \d+ -n veloz --wait/);
    if (profile !== 'missing') expect(run.summary).toContain('Last log lines of veloz-engine-');
  });

  test('the last log lines survive the container restarting between the status and the log reads', async () => {
    // No restart within the test (30 s back-off); the first log read is refused as the kubelet does
    // before the first restart, and the next one is slowed past the moment the crashed instance
    // becomes the "previous" one, leaving the current log empty.
    cluster.sandbox.setProfile('veloz/engine:2.0.0-oom-race', 'oom:backoff=30s');
    cluster.sandbox.faults.add({
      resources: ['pods/log'],
      count: 1,
      action: { type: 'status', code: 400, message: 'previous terminated container not found' },
    });
    cluster.sandbox.faults.add({ resources: ['pods/log'], count: 2, action: { type: 'latency', ms: 300 } });
    const run = await canary({ version: '2.0.0-oom-race' });
    expect(run.exitCode).toBe(1);
    expect(run.errors[0]).toMatch(/was OOM-killed/);
    expect(run.summary).toContain('Last log lines of veloz-engine-');
    expect(run.summary).toContain('allocating order book buffers...');
  });

  test('a never-ready image fails at the progress deadline', async () => {
    cluster.sandbox.setProfile('veloz/engine:2.0.0-never', 'never-ready');
    const run = await canary({ version: '2.0.0-never', set: 'engine.progressDeadlineSeconds=2' });
    expect(run.exitCode).toBe(1);
    expect(run.errors[0]).toMatch(/exceeded its progress deadline \(2s\)/);
  });

  test('a never-ready image fails at the step timeout when the deadline is longer', async () => {
    cluster.sandbox.setProfile('veloz/engine:2.0.0-slow', 'never-ready');
    const run = await canary({ version: '2.0.0-slow', timeout: '3s' });
    expect(run.exitCode).toBe(1);
    expect(run.errors[0]).toMatch(/did not complete within 3s/);
  });

  test("a value helm rejects is shown with helm's own words", async () => {
    const run = await canary({ version: '1.1.0', set: 'engine.image=not-a-map' });
    expect(run.exitCode).toBe(1);
    expect(run.errors[0]).toContain(
      'helm upgrade failed (exit code 1): Error: failed parsing --set-string data: unable to parse key: interface conversion',
    );
  });
});

describe('the rollout survives a misbehaving API server', () => {
  test('a dropped watch, a 5xx burst and a 429 with Retry-After', async () => {
    cluster.sandbox.faults.add({
      verbs: ['watch'],
      resources: ['deployments'],
      action: { type: 'watch-close', afterMs: 300 },
      count: 2,
    });
    cluster.sandbox.faults.add({
      verbs: ['list'],
      resources: ['pods'],
      action: { type: 'status', code: 503 },
      count: 3,
    });
    cluster.sandbox.faults.add({
      verbs: ['list'],
      resources: ['replicasets'],
      action: { type: 'status', code: 429, retryAfterSeconds: 1 },
      count: 1,
    });
    const run = await canary({ version: '1.1.0' });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toMatch(/retrying in/);
  });
});

describe('the release lock', () => {
  const lease = (holder: string, renewedSecondsAgo: number) => cluster.holdLease(holder, renewedSecondsAgo);

  test('a second deploy fails fast naming the holder', async () => {
    lease('https://github.com/veloz/veloz/actions/runs/1', 5);
    const run = await canary({ version: '1.1.0', 'lock-wait': '0s' });
    expect(run.exitCode).toBe(1);
    expect(run.errors[0]).toContain('Another deploy or rollback is running');
    expect(run.errors[0]).toContain('rollback run https://github.com/veloz/veloz/actions/runs/1 by someone');
    expect((await cluster.helmRevisions()).at(-1)?.status).toBe('deployed');
    cluster.sandbox.remove('leases', 'veloz', 'veloz-deploy-veloz');
  });

  test('an expired lock is taken over, with a warning', async () => {
    // Stamped 10 minutes ago by its clock, a 5 s lease: expired once we have seen it unchanged for 5 s on ours.
    cluster.holdLease('https://github.com/veloz/veloz/actions/runs/2', 600, 'rollback', 5);
    const run = await canary({ version: '1.1.0' });
    expect(run.exitCode).toBe(0);
    expect(run.warnings.join('\n')).toContain('Took over an expired release lock');
    expect(cluster.sandbox.get('leases', 'veloz', 'veloz-deploy-veloz')).toBeUndefined();
  });
});
