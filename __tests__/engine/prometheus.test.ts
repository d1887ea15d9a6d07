/**
 * A real Prometheus scrapes a healthy engine and a degraded one and computes the runbook's error rate and p99
 * from their series; they must match the profile.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { spawn } from 'node:child_process';
import type { EngineHandle } from '../../packages/sandbox/src/engine/index';
import { startStableAndCanary } from '../support/engine-pair';
import { startPrometheus, type Prometheus } from '@veloz/harness/servers/prometheus';

let stable: EngineHandle;
let canary: EngineHandle;
let prom: Prometheus;

const errorRate = (pod: string): string =>
  `sum(rate(veloz_http_requests_total{pod="${pod}",code=~"5.."}[1m])) / sum(rate(veloz_http_requests_total{pod="${pod}"}[1m]))`;
const p99 = (pod: string): string =>
  `histogram_quantile(0.99, sum by (le) (rate(veloz_http_request_duration_seconds_bucket{pod="${pod}"}[1m])))`;

beforeAll(async () => {
  // 300 synthetic requests/s: ~3000 observations in the ten seconds the test looks at, ~30 in the p99 tail.
  ({ stable, canary } = await startStableAndCanary());
  prom = await startPrometheus({ targets: [stable.scrapeTarget(), canary.scrapeTarget()], scrapeInterval: '1s' });
});

afterAll(async () => {
  await prom?.stop();
  await Promise.all([stable?.stop(), canary?.stop()]);
});

describe('scraped by a real Prometheus', () => {
  test('both targets come up with their pod labels', async () => {
    const up = await prom.waitForTargetsUp(30_000);
    const byPod = Object.fromEntries(up.map((s) => [s.metric.pod, s.metric]));
    expect(byPod['veloz-engine-canary-0']).toMatchObject({
      job: 'veloz',
      namespace: 'veloz',
      track: 'canary',
      app_kubernetes_io_name: 'veloz',
      instance: canary.scrapeTarget().address,
    });
    expect(byPod['veloz-engine-stable-0']).toMatchObject({ track: 'stable' });
  });

  test('error rate and p99 computed by Prometheus match each profile', async () => {
    await prom.waitForTargetsUp(30_000);
    // Enough scrapes for rate() over ~8 s of data.
    await prom.waitFor(
      'count_over_time(up{job="veloz"}[1m])',
      (s) => s.length === 2 && s.every((x) => x.value >= 9),
      30_000,
    );
    const canaryErrors = (await prom.queryValue(errorRate(canary.podName))) as number;
    const canaryP99 = (await prom.queryValue(p99(canary.podName))) as number;
    const stableErrors = (await prom.queryValue(errorRate(stable.podName))) as number;
    const stableP99 = (await prom.queryValue(p99(stable.podName))) as number;

    expect(canaryErrors).toBeGreaterThan(0.05);
    expect(canaryErrors).toBeLessThan(0.07);
    // One observation in the (1, 2.5] bucket moves the estimate by ~0.05 s at this sample size.
    expect(canaryP99).toBeGreaterThan(1.08);
    expect(canaryP99).toBeLessThan(1.32);
    // Healthy: no errors, p99 inside the runbook's expected 100 ms.
    expect(stableErrors).toBe(0);
    expect(stableP99).toBeGreaterThan(0.02);
    expect(stableP99).toBeLessThan(0.1);

    // The fleet-wide form the runbook alerts on sees the canary's errors diluted by the healthy pod.
    const fleet = (await prom.queryValue(
      'sum(rate(veloz_http_requests_total{code=~"5.."}[1m])) / sum(rate(veloz_http_requests_total[1m]))',
    )) as number;
    expect(fleet).toBeGreaterThan(0.02);
    expect(fleet).toBeLessThan(0.04);
  });

  test('queryRange returns a series of points per pod', async () => {
    const end = Date.now();
    const series = await prom.queryRange('process_resident_memory_bytes', { start: end - 5000, end, stepSeconds: 1 });
    expect(series.map((s) => s.metric.pod).sort()).toEqual(['veloz-engine-canary-0', 'veloz-engine-stable-0']);
    for (const s of series) {
      expect(s.values.length).toBeGreaterThanOrEqual(5);
      expect(s.values[0]?.[1]).toBeGreaterThan(100 * 1024 * 1024);
    }
  });

  test('the exposition passes promtool check metrics', async () => {
    const text = await (await fetch(`${canary.url}/metrics`)).text();
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.stdin.end(text);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(output).toBe('');
    expect(code).toBe(0);
  });
});

describe('test-support Prometheus', () => {
  test('a bad query is an error naming the query; stop() removes the data dir', async () => {
    const p = await startPrometheus({ targets: [] });
    try {
      await expect(p.query('sum(')).rejects.toThrow(/sum\(.*bad_data/);
      expect(await p.queryValue('vector(1)')).toBe(1);
    } finally {
      await p.stop();
    }
    const { existsSync } = await import('node:fs');
    expect(existsSync(p.dataDir)).toBe(false);
  });
});
