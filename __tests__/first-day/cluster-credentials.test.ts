/** Cluster credentials only where a check needs them (validate by URL), and a missing one reported with the rest. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { startEngine, type EngineHandle } from '@veloz/sandbox/engine/index';

let engine: EngineHandle;
beforeAll(async () => {
  engine = await startEngine({
    namespace: 'veloz',
    podName: 'veloz-engine-0',
    image: 'veloz/engine:1.1.0',
    testToken: 't',
  });
});
afterAll(async () => {
  await engine.stop();
});

describe('validate without a kubeconfig', () => {
  test('by URL, every check that needs no cluster runs and passes', async () => {
    const run = await runActionBundle('validate', { url: engine.url, 'test-token': 't' });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.outputs.verdict).toBe('pass');
    expect(run.stdout).toMatch(
      /pass 1 at \+0s: health=pass smoke=pass metrics=pass order=pass sse=pass websocket=pass/,
    );
  });

  test.each([
    [{ pod: 'canary' }, 'because `pod: canary` and the `logs` check are read through the Kubernetes API'],
    [
      { service: 'veloz-engine', checks: 'health' },
      'because `service: veloz-engine` is read through the Kubernetes API',
    ],
  ])('%j is a bad input naming what needs the cluster', async (inputs, named) => {
    const run = await runActionBundle('validate', inputs);
    expect(run.exitCode).toBe(1);
    expect(run.errors.some((e) => e.startsWith("Input 'kubeconfig' is required but was not set"))).toBe(true);
    expect(run.errors.join('\n')).toContain(named);
    expect(run.outputs).toEqual({});
  });
});

test('a missing kubeconfig is reported together with every other bad input (canary: four errors)', async () => {
  const run = await runActionBundle('canary', {
    phase: 'canary',
    version: '1.1.0',
    chart: './infra/helm/veloz',
    timeout: 'banana',
    'canary-replicas': '-1',
    strategy: 'sideways',
  });
  expect(run.exitCode).toBe(1);
  expect(run.errors).toHaveLength(4);
  expect(run.errors.map((e) => /^Input '([^']+)'/.exec(e)?.[1]).sort()).toEqual([
    'canary-replicas',
    'kubeconfig',
    'strategy',
    'timeout',
  ]);
  expect(run.errors.find((e) => e.includes("'timeout'"))).toContain('"banana"');
});
