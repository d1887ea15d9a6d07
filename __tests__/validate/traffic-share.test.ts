/**
 * Issue 28 item 4: validate measures what green really got through the Gateway — its share of real
 * requests next to the route's weight, and green against blue on those same requests — through the
 * bundles on the sandbox, after a weighted canary set blue 95 / green 5 on the chart's HTTPRoute.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { shareIsOff } from '../../actions/validate/src/checks/traffic-share';
import { CHART, VALUES_PRODUCTION, installServing, startCluster, type Cluster } from '../support/cluster';

const GATEWAY = ['gateway.enabled=true'];
const ROUTER = { 'traffic-router': 'gateway-api', 'http-route': 'veloz-engine', 'canary-weight': '5%' };

describe('shareIsOff: further from the weight than chance allows, and by more than 2 points', () => {
  test.each([
    [5.4, 5, 2000, false],
    [7.5, 5, 2000, true],
    [5, 30, 2000, true],
    [9, 5, 50, false], // 50 requests cannot tell 9% from 5%
    [6.9, 5, 100_000, false], // chance excluded, but under 2 points: not worth a warning
  ])('observed %p%% at weight %p%% over %p requests → %p', (observed, weight, n, off) => {
    expect(shareIsOff(observed, weight, n)).toBe(off);
  });
});

describe('validate through the Gateway after a 5% canary', () => {
  let cluster: Cluster;
  let url: string;
  beforeAll(async () => {
    cluster = await startCluster();
    await installServing(cluster, '1.0.0', GATEWAY);
    const canary = await runActionBundle(
      'canary',
      {
        driver: 'helm',
        chart: CHART,
        'values-files': VALUES_PRODUCTION,
        set: GATEWAY.join('\n'),
        ...ROUTER,
        phase: 'canary',
        version: '1.1.0',
        timeout: '60s',
      },
      { env: cluster.env, timeoutMs: 120_000 },
    );
    expect(canary.errors).toEqual([]);
    url = await cluster.sandbox.gatewayUrl('veloz', 'veloz-gateway');
  }, 180_000);
  afterAll(async () => cluster?.stop());

  const validate = (inputs: Record<string, string>) =>
    runActionBundle(
      'validate',
      {
        url,
        checks: 'traffic-share',
        duration: '4s',
        interval: '1s',
        'canary-version': '1.1.0',
        'share-requests': '500',
        ...inputs,
      },
      { env: cluster.env, timeoutMs: 120_000 },
    );

  test("green's observed share is within 2 points of the 5% weight over ≥ 2,000 requests, beside blue's figures", async () => {
    const run = await validate({ 'canary-weight': '5%' });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    const share = Number.parseFloat(run.outputs['observed-share'] ?? '');
    expect(Math.abs(share - 5)).toBeLessThanOrEqual(2);
    const row = run.summary.split('\n').find((l) => l.includes('Traffic share (route weight 5%)')) ?? '';
    const requests = Number(/of (\d+) requests/.exec(row)?.[1]);
    expect(requests).toBeGreaterThanOrEqual(2000);
    expect(run.summary).toMatch(/green 1\.1\.0: 0\.00% errors, p99 .* over \d+; blue: 0\.00% errors, p99 .* over \d+/);
    expect(run.outputs.verdict).toBe('pass');
  });

  test('a weight the route does not carry out is a warning naming both', async () => {
    const run = await validate({ 'canary-weight': '30%' });
    expect(run.exitCode).toBe(0);
    expect(run.outputs.verdict).toBe('warn');
    expect(run.warnings.join('\n') + run.summary).toMatch(
      /Green served \d+\.\d% of requests but the route's weight is 30%/,
    );
  });

  test('canary-weight without canary-version is a bad input naming it', async () => {
    const run = await runActionBundle(
      'validate',
      { url, checks: 'traffic-share', 'canary-weight': '5%', duration: '1s', interval: '1s' },
      { env: cluster.env, timeoutMs: 60_000 },
    );
    expect(run.exitCode).toBe(1);
    expect(run.errors.join('\n')).toContain('canary-version');
  });
});
