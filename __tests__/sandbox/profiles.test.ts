import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { parseProfileAssignment, parseProfileSpec, startSandbox, type KubeObject, type Sandbox } from '@veloz/sandbox';
import { eventually } from './support';

interface ContainerStatus {
  ready: boolean;
  restartCount: number;
  state: { waiting?: { reason: string }; running?: unknown; terminated?: { reason: string } };
  lastState: { terminated?: { reason: string; exitCode: number } };
}
const statusOf = (pod: KubeObject | undefined) =>
  pod?.status as
    | { phase: string; conditions?: { type: string; status: string }[]; containerStatuses?: ContainerStatus[] }
    | undefined;

function deploy(sb: Sandbox, name: string, image: string, probe = true): void {
  sb.apply({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'veloz' },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'engine',
              image,
              ...(probe
                ? { readinessProbe: { httpGet: { path: '/health/ready', port: 8080 }, failureThreshold: 2 } }
                : {}),
            },
          ],
        },
      },
    },
  });
}

const onlyPod = (sb: Sandbox, app: string): KubeObject | undefined =>
  sb.list('pods', 'veloz', `app=${app}`).find((p) => !p.metadata.deletionTimestamp);

describe('profile syntax', () => {
  test('parses IMAGE=NAME[:key=value,...] and rejects mistakes clearly', () => {
    expect(parseProfileAssignment('ghcr.io/veloz/engine:2.0=crashloop:run=200ms,backoff=1s')).toEqual({
      image: 'ghcr.io/veloz/engine:2.0',
      spec: { name: 'crashloop', params: { run: '200ms', backoff: '1s' } },
    });
    expect(parseProfileSpec('healthy')).toEqual({ name: 'healthy', params: {} });
    expect(() => parseProfileSpec('sleepy')).toThrow(
      /unknown profile "sleepy"; expected one of healthy, never-ready, crashloop, missing, oom, degrade/,
    );
    expect(() => parseProfileSpec('crashloop:speed=2')).toThrow(/unknown parameter "speed"/);
    expect(() => parseProfileSpec('oom:after=soon')).toThrow(
      /after=soon is not valid; expected a duration such as 500ms/,
    );
    expect(() => parseProfileAssignment('no-equals-sign')).toThrow(/IMAGE=PROFILE/);
  });

  test("startSandbox rejects a bad degrade parameter with the engine double's message", async () => {
    await expect(startSandbox({ profiles: ['x:1=degrade:error-rate=lots'] })).rejects.toThrow(
      /degrade profile: error-rate=lots/,
    );
  });
});

describe('pod lifecycle by image profile', () => {
  let sb: Sandbox;
  beforeAll(async () => {
    sb = await startSandbox({
      podStartupDelayMs: 100,
      probeIntervalMs: 100,
      backoffMs: 200,
      engineSyntheticRps: 0,
      profiles: {
        'veloz/missing:1': 'missing:backoff=200ms',
        'veloz/oom:1': 'oom:after=100ms',
        'veloz/never:1': 'never-ready',
        'veloz/crash:1': 'crashloop:run=100ms',
        'veloz/slow:1': 'degrade:after=0s,p99=50ms',
      },
    });
  });
  afterAll(async () => {
    await sb.stop();
  });

  test('missing: ErrImagePull, then ImagePullBackOff, pod stays Pending', async () => {
    deploy(sb, 'missing', 'veloz/missing:1');
    await eventually(
      () => statusOf(onlyPod(sb, 'missing'))?.containerStatuses?.[0]?.state.waiting?.reason === 'ErrImagePull',
      10_000,
      'ErrImagePull',
    );
    await eventually(
      () => statusOf(onlyPod(sb, 'missing'))?.containerStatuses?.[0]?.state.waiting?.reason === 'ImagePullBackOff',
      10_000,
      'ImagePullBackOff',
    );
    expect(statusOf(onlyPod(sb, 'missing'))?.phase).toBe('Pending');
    const reasons = sb
      .list('events', 'veloz')
      .filter((e) => (e.involvedObject as { name: string }).name === onlyPod(sb, 'missing')?.metadata.name)
      .map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['Scheduled', 'Pulling', 'Failed', 'BackOff']));
  });

  test('oom: terminated OOMKilled with restarts', async () => {
    deploy(sb, 'oom', 'veloz/oom:1', false);
    const cs = await eventually(
      () => {
        const s = statusOf(onlyPod(sb, 'oom'))?.containerStatuses?.[0];
        return s && s.restartCount >= 1 && s.lastState.terminated?.reason === 'OOMKilled' ? s : undefined;
      },
      10_000,
      'OOMKilled',
    );
    expect(cs.lastState.terminated?.exitCode).toBe(137);
    expect(statusOf(onlyPod(sb, 'oom'))?.phase).toBe('Running');
  });

  test('crashloop: CrashLoopBackOff with growing restarts and previous logs', async () => {
    deploy(sb, 'crash', 'veloz/crash:1', false);
    await eventually(
      () => (statusOf(onlyPod(sb, 'crash'))?.containerStatuses?.[0]?.restartCount ?? 0) >= 2,
      15_000,
      'two restarts',
    );
    await eventually(
      () => statusOf(onlyPod(sb, 'crash'))?.containerStatuses?.[0]?.state.waiting?.reason === 'CrashLoopBackOff',
      10_000,
      'CrashLoopBackOff',
    );
    const pod = onlyPod(sb, 'crash')?.metadata.name;
    const previous = await sb.request('GET', `/api/v1/namespaces/veloz/pods/${pod}/log?previous=true`);
    expect(previous.status).toBe(200);
    expect(previous.text).toContain('fatal: unrecoverable error');
  });

  test('never-ready: Running but never Ready, with Unhealthy events', async () => {
    deploy(sb, 'never', 'veloz/never:1');
    await eventually(() => statusOf(onlyPod(sb, 'never'))?.phase === 'Running', 10_000, 'Running');
    await eventually(
      () =>
        sb
          .list('events', 'veloz')
          .some(
            (e) =>
              e.reason === 'Unhealthy' &&
              (e.involvedObject as { name: string }).name === onlyPod(sb, 'never')?.metadata.name,
          ),
      10_000,
      'Unhealthy event',
    );
    const s = statusOf(onlyPod(sb, 'never'));
    expect(s?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    expect(s?.containerStatuses?.[0]?.ready).toBe(false);
    const log = await sb.request('GET', `/api/v1/namespaces/veloz/pods/${onlyPod(sb, 'never')?.metadata.name}/log`);
    expect(log.status).toBe(200);
  });

  test('healthy pods are Ready only while their engine answers the readiness probe; profiles switch live', async () => {
    deploy(sb, 'live', 'veloz/live:1');
    await eventually(() => statusOf(onlyPod(sb, 'live'))?.containerStatuses?.[0]?.ready === true, 10_000, 'Ready');
    const pod = onlyPod(sb, 'live')?.metadata.name ?? '';
    expect(sb.engineOf('veloz', pod)).toBeDefined();
    const logs = await sb.request('GET', `/api/v1/namespaces/veloz/pods/${pod}/log?tailLines=2`);
    expect(logs.text.trim().split('\n')).toHaveLength(2);

    sb.setProfile('veloz/live:1', 'degrade:ready=fail');
    await eventually(
      () => statusOf(onlyPod(sb, 'live'))?.containerStatuses?.[0]?.ready === false,
      10_000,
      'unready after ready=fail',
    );
    expect(statusOf(onlyPod(sb, 'live'))?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    const proxied = await sb.request('GET', `/api/v1/namespaces/veloz/pods/${pod}/proxy/health/ready`);
    expect(proxied.status).toBe(503);

    sb.setProfile('veloz/live:1', undefined);
    await eventually(
      () => statusOf(onlyPod(sb, 'live'))?.containerStatuses?.[0]?.ready === true,
      10_000,
      'Ready again',
    );
  });

  test('degrade parameters reach the engine double', async () => {
    deploy(sb, 'slow', 'veloz/slow:1');
    await eventually(() => statusOf(onlyPod(sb, 'slow'))?.containerStatuses?.[0]?.ready === true, 10_000, 'Ready');
    const engine = sb.engineOf('veloz', onlyPod(sb, 'slow')?.metadata.name ?? '');
    expect(engine?.behaviour).toMatchObject({ p99Ms: 50 });
  });
});
