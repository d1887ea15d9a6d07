/**
 * The release lock and the API deadlines from source, against a real sandbox API server, with the
 * lock's time on a ManualClock: renewals, a forced takeover, renewals that fail until the lease
 * lapses, hung renewals, a bounded release(), and a hung request reported by name.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { startSandbox, type Sandbox } from '@veloz/sandbox';
import { ManualClock } from '@veloz/harness/clock';
import { connectKube, RequestTimeoutError, type Kube } from '@veloz/shared/kube/client';
import { LockLostError } from '@veloz/shared/kube/fence';
import { acquireReleaseLock, type HeldLock } from '@veloz/shared/kube/lock';

let sb: Sandbox;
const TTL_MS = 30_000; // renewals every 10 s of manual time
const RENEW_MS = TTL_MS / 3;

beforeAll(async () => {
  sb = await startSandbox({ engines: false, podStartupDelayMs: 50 });
});
afterAll(async () => {
  await sb.stop();
});
beforeEach(() => {
  sb.faults.clear();
  if (sb.get('leases', 'veloz', 'veloz-deploy-veloz')) sb.remove('leases', 'veloz', 'veloz-deploy-veloz');
});

const owner = (n: string) => ({
  identity: `run-${n}`,
  runUrl: `https://github.com/veloz/veloz/actions/runs/${n}`,
  actor: `dev${n}`,
  action: 'canary canary',
});

async function hold(kube: Kube, clock: ManualClock, n: string, force = false, logs: string[] = []): Promise<HeldLock> {
  return acquireReleaseLock(kube, {
    namespace: 'veloz',
    release: 'veloz',
    owner: owner(n),
    ttlMs: TTL_MS,
    clock,
    force,
    log: (line) => logs.push(line),
  });
}

async function eventually(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const writesBy = (since: string) =>
  sb.journal
    .list()
    .filter(
      (e) => e.time >= since && ['create', 'update', 'patch', 'delete'].includes(e.verb) && e.resource !== 'leases',
    );

const lease = () =>
  (
    sb.get('leases', 'veloz', 'veloz-deploy-veloz') as
      { spec?: { renewTime?: string; holderIdentity?: string } } | undefined
  )?.spec;

const stoppedMark = () =>
  (
    sb.get('leases', 'veloz', 'veloz-deploy-veloz') as
      { metadata?: { annotations?: Record<string, string> } } | undefined
  )?.metadata?.annotations?.['veloz.io/stopped-holder'];

const configMap = (name: string) => ({
  namespace: 'veloz',
  body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'veloz' }, data: {} },
});

describe('the release lock fences its holder', () => {
  test('renewals keep it; a forced takeover is seen at once, refuses writes, and the taker starts when the holder says it stopped', async () => {
    const clock = new ManualClock('2026-11-30T03:00:00Z');
    const a = await connectKube(sb.kubeconfig);
    const logs: string[] = [];
    const lock = await hold(a, clock, '1', false, logs);
    const renewTime = () => String(lease()?.renewTime);
    const first = renewTime();
    await clock.advance(RENEW_MS);
    await eventually(() => renewTime() !== first, 'a renewal');
    expect(renewTime()).toBe('2026-11-30T03:00:10.000000Z');
    // the holder may write while it holds the lease
    await a.core.createNamespacedConfigMap(configMap('before-takeover'));
    lock.fence.check('the next step');

    const b = await connectKube(sb.kubeconfig);
    await clock.advance(1_000);
    let returned = false;
    const takerLogs: string[] = [];
    const taking = hold(b, clock, '2', true, takerLogs).then((l) => ((returned = true), l));
    // the bound is the live holder's next renewal counted from when the taker saw the lease (:11, not the
    // holder's renewTime :10, written by another clock): every 10 s, each bounded by 5 s, plus 3 s
    await eventually(() => takerLogs.some((l) => l.includes('at most 18s, its next renewal')), 'the takeover');
    const takenAt = new Date().toISOString();
    // the holder's lease watch sees it with the clock standing still: no renewal was due
    await eventually(() => a.fence.signal.aborted, 'the fence to close');
    expect(a.fence.lost?.holder).toBe('canary canary run https://github.com/veloz/veloz/actions/runs/2 by dev2');
    expect(() => lock.fence.check('Scale to 4 replicas')).toThrow(
      /^lost the release lock to canary canary run https:\/\/github.com\/veloz\/veloz\/actions\/runs\/2 by dev2 at 2026-11-30T03:00:11.000Z: stopped before Scale to 4 replicas$/,
    );
    const refused = await a.core.createNamespacedConfigMap(configMap('after-takeover')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LockLostError);
    expect((refused as Error).message).toContain(
      'stopped before the API call createNamespacedConfigMap (veloz/after-takeover)',
    );
    // nothing in flight: the holder marks the lease stopped, and the taker writes at its next look (1 s)
    await eventually(() => stoppedMark() === 'run-1', 'the stopped mark');
    await clock.advance(1_000);
    const taker = await taking;
    expect(returned).toBe(true);
    expect(takerLogs.join('\n')).toMatch(/canary canary run \S+runs\/1 by dev1 has stopped \([01]s\): writing now/);
    expect(taker.tookOverFrom?.identity).toContain('runs/1 by dev1');
    expect(lease()?.holderIdentity).toBe('run-2');
    expect(writesBy(takenAt)).toEqual([]);
    expect(logs.join('\n')).toContain('was taken over by canary canary run');
    // release() of the loser leaves the new holder's lease alone
    await lock.release();
    expect(lease()?.holderIdentity).toBe('run-2');
    await taker.release();
    expect(sb.get('leases', 'veloz', 'veloz-deploy-veloz')).toBeUndefined();
  });

  test('a change still in flight holds the stopped mark back until it ends', async () => {
    const clock = new ManualClock('2026-11-30T03:00:00Z');
    const a = await connectKube(sb.kubeconfig);
    const lock = await hold(a, clock, '1');
    let finish: () => void = () => {};
    const change = a.fence.track(new Promise<void>((resolve) => (finish = resolve)));
    const b = await connectKube(sb.kubeconfig);
    const taking = hold(b, clock, '2', true);
    await eventually(() => a.fence.signal.aborted, 'the fence to close');
    await new Promise((r) => setTimeout(r, 500));
    expect(stoppedMark()).toBeUndefined();
    finish();
    await change;
    await eventually(() => stoppedMark() === 'run-1', 'the stopped mark once the change ended');
    await clock.advance(1_000);
    const taker = await taking;
    await lock.release();
    await taker.release();
  });

  test('a holder that never says it stopped (an older release, or its watch down) is waited out to its renewal bound', async () => {
    const clock = new ManualClock('2026-11-30T03:00:00Z');
    const b = await connectKube(sb.kubeconfig);
    await b.coordination.createNamespacedLease({
      namespace: 'veloz',
      body: {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'veloz-deploy-veloz', namespace: 'veloz' },
        spec: {
          holderIdentity: 'run-old',
          leaseDurationSeconds: 30,
          renewTime: '2026-11-30T03:00:00.000000Z' as unknown as Date,
        },
      },
    });
    let returned = false;
    const logs: string[] = [];
    const taking = hold(b, clock, '2', true, logs).then((l) => ((returned = true), l));
    // renewed at :00, every 10 s, each bounded by 5 s: :15, plus 3 s
    await eventually(() => logs.some((l) => l.includes('at most 18s, its next renewal')), 'the takeover');
    for (let s = 0; s < 17; s++) await clock.advance(1_000).then(() => new Promise((r) => setTimeout(r, 20)));
    await clock.advance(999);
    await new Promise((r) => setTimeout(r, 200));
    expect(returned).toBe(false);
    await clock.advance(1);
    const taker = await taking;
    expect(logs.join('\n')).toContain(
      'run run-old did not mark the lease stopped; its renewal bound has passed: writing now.',
    );
    await taker.release();
  });

  test('renewals that keep failing close the fence when last renewal + ttl passes, not before', async () => {
    const clock = new ManualClock('2026-11-30T03:00:00Z');
    const kube = await connectKube(sb.kubeconfig);
    const logs: string[] = [];
    const lock = await hold(kube, clock, '3', false, logs);
    sb.faults.add({ verbs: ['update'], resources: ['leases'], action: { type: 'status', code: 503 } });
    for (let i = 1; i <= 2; i++) {
      await clock.advance(RENEW_MS);
      await eventually(() => logs.filter((l) => l.startsWith('could not renew')).length >= i, `failed renewal ${i}`);
    }
    await clock.advance(RENEW_MS - 1);
    expect(kube.fence.lost).toBeUndefined();
    await clock.advance(1);
    await eventually(() => kube.fence.signal.aborted, 'the fence to close at the expiry');
    expect(kube.fence.lost?.at).toBe(Date.parse('2026-11-30T03:00:30Z'));
    expect(() => kube.fence.check('Promote')).toThrow(
      /^lost the release lock to no one \(the lease expired unrenewed; last renewal error: .+\) at 2026-11-30T03:00:30.000Z: stopped before Promote$/,
    );
    sb.faults.clear();
    await lock.release();
  });

  test('a hung API server cannot hold a renewal or release() past their bounds', async () => {
    const clock = new ManualClock('2026-11-30T03:00:00Z');
    const kube = await connectKube(sb.kubeconfig, undefined, { requestTimeoutMs: 2_000 });
    const logs: string[] = [];
    const lock = await hold(kube, clock, '4', false, logs);
    sb.faults.add({ verbs: ['get', 'update', 'delete'], resources: ['leases'], action: { type: 'hang' } });
    await clock.advance(RENEW_MS);
    // the renewal is cut at half a renew period of real time (5 s) at most, and says so
    await eventually(() => logs.some((l) => l.startsWith('could not renew')), 'the hung renewal to be cut', 8_000);
    const t0 = Date.now();
    await lock.release();
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(logs.join('\n')).toMatch(/could not release lock veloz-deploy-veloz: .*\(it expires by itself\)/);
    sb.faults.clear();
  });
});

describe('API request deadlines', () => {
  test('a hung request is retried like a transient error, then reported naming the call', async () => {
    const kube = await connectKube(sb.kubeconfig, undefined, { requestTimeoutMs: 600 });
    sb.faults.add({ verbs: ['get'], resources: ['namespaces'], action: { type: 'hang' } });
    const failure = await kube.core.readNamespace({ name: 'veloz' }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RequestTimeoutError);
    expect((failure as Error).message).toMatch(
      /^Kubernetes API readNamespace \(GET \/api\/v1\/namespaces\/veloz\): no answer from the API server within 1s, 2 attempts over \d+s$/,
    );
    await eventually(
      () => sb.journal.list({ verb: 'get', resource: 'namespaces' }).length >= 2,
      'both attempts journaled',
    );
    sb.faults.clear();
    await expect(kube.core.readNamespace({ name: 'veloz' })).resolves.toMatchObject({ metadata: { name: 'veloz' } });
  });

  test('a watch whose set-up hangs is abandoned at the request timeout and retried', async () => {
    const { ResumableWatch } = await import('@veloz/shared/kube/watch');
    const kube = await connectKube(sb.kubeconfig, undefined, { requestTimeoutMs: 500 });
    sb.faults.add({ verbs: ['watch'], resources: ['namespaces'], action: { type: 'hang' }, count: 1 });
    const logs: string[] = [];
    const events: string[] = [];
    const watch = new ResumableWatch({
      kube,
      path: '/api/v1/namespaces',
      query: {},
      list: async () => {
        const l = await kube.core.listNamespace();
        return { items: l.items, resourceVersion: l.metadata?.resourceVersion ?? '' };
      },
      onSnapshot: () => undefined,
      onEvent: (type, o) => events.push(`${type} ${o.metadata?.name}`),
      clock: new ManualClock(0),
      deadline: Number.MAX_SAFE_INTEGER,
      log: (l) => logs.push(l),
    });
    const running = watch.run();
    await eventually(
      () => logs.some((l) => l.includes('no answer from the API server within 1s')),
      'the set-up timeout',
      5_000,
    );
    watch.stop();
    await running;
  });
});
