import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { parseDegrade } from '../../packages/sandbox/src/engine/index';
import { startCluster, type Cluster } from '../support/cluster';
import { parseMermaid } from '../support/mermaid';
import { startPrometheus, type Prometheus } from '@veloz/harness/servers/prometheus';

let cluster: Cluster;
let pods: string[];

beforeAll(async () => {
  // Enough synthetic requests that one 1s interval holds a meaningful p99 (1% of 400 is 4 requests).
  cluster = await startCluster({ engineSyntheticRps: 400 });
  await cluster.install('1.1.0');
  pods = cluster.sandbox
    .list('pods', 'veloz', 'app.kubernetes.io/name=veloz')
    .map((p) => String((p.metadata as { name: string }).name))
    .sort();
}, 120_000);
afterAll(async () => cluster?.stop());
afterEach(() => {
  for (const engine of cluster.sandbox.engines()) engine.setBehaviour(undefined);
});

const FAST = { 'sse-timeout': '2s', 'websocket-timeout': '2s', 'check-timeout': '5s' };

function validate(inputs: Record<string, string>) {
  return runActionBundle('validate', { ...FAST, ...inputs }, { env: cluster.env, timeoutMs: 120_000 });
}

function degrade(pod: string, params: Record<string, string>): void {
  cluster.sandbox.engineOf('veloz', pod)!.setBehaviour(parseDegrade(params));
}

describe('a healthy release', () => {
  test('passes one validation pass of the canary through pods/proxy', async () => {
    const run = await validate({ pod: 'canary' });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.outputs.verdict).toBe('pass');
    expect(run.summary).toContain('- [x] All health endpoints returning 200');
    expect(run.summary).toContain('Validation checklist (runbook §3.4)');
  });

  test('passes a monitoring window through the Service', async () => {
    const run = await validate({ service: 'veloz-engine', duration: '3s', interval: '1s' });
    expect(run.exitCode).toBe(0);
    expect(run.outputs.verdict).toBe('pass');
    expect(run.stdout).toMatch(/pass 4 at \+3s/);
    // from the second pass on, error rate and p99 come from the engine's own counters
    expect(run.summary).toContain("Monitoring (runbook §3.3, from the engine's /metrics");
  });
});

describe('runbook §4.1 criteria decide rollback and stop the window', () => {
  test('error rate above 5% sustained (exact 6%, noise=none)', async () => {
    degrade(pods[0]!, { 'error-rate': '6%' });
    const run = await validate({
      pod: pods[0]!,
      checks: 'health, metrics',
      duration: '60s',
      interval: '1s',
      'rollback-error-rate-for': '10s',
    });
    expect(run.exitCode).toBe(1);
    expect(run.outputs.verdict).toBe('rollback');
    // 400 rps for 10 s: ~4,000 requests, 6%; the 99% lower bound clears 5% once the window covers 10 s
    expect(run.outputs.reasons).toMatch(
      /^Error rate above 5% for 10s: errors \d+ of [\d,]+ requests over the last \d+(\.\d+)?s, [56](\.\d)?%, 99% lower bound 5(\.\d)?%; no part/,
    );
    expect(run.errors[0]).toContain('Verdict ROLLBACK');
    expect(run.summary).toContain('Rollback criterion: error-rate');
    expect(run.summary).toContain('| Sample | Time | Healthy | Requests | Errors |');
    expect(run.summary).toContain('stopped as soon as a rollback criterion was met');
    // rates exist from the 2nd pass; not before ten 1 s passes cover 10 s, and long before the window ends
    const decided = Number(/pass (\d+) at \+\d+s: .*→ ROLLBACK/.exec(run.stdout)?.[1]);
    expect(decided).toBeGreaterThanOrEqual(11);
    expect(decided).toBeLessThan(61);
  });

  test('more than 3 consecutive health failures; the other pod is fine', async () => {
    degrade(pods[0]!, { health: 'fail' });
    const bad = await validate({ pod: pods[0]!, checks: 'health', duration: '30s', interval: '500ms' });
    expect(bad.outputs.verdict).toBe('rollback');
    expect(bad.outputs.reasons).toContain('Health checks failed 4 times in a row');
    const good = await validate({ pod: pods[1]!, checks: 'health' });
    expect(good.outputs.verdict).toBe('pass');
  });

  test('p99 above 1s sustained: rollback, or warn when asked to evaluate', async () => {
    // p99 2.5 s: 2% of requests slower than 1 s, told from 1% within a few seconds at 400 rps
    degrade(pods[1]!, { p99: '2500ms' });
    const inputs = { pod: pods[1]!, checks: 'metrics', duration: '30s', interval: '1s', 'rollback-p99-for': '5s' };
    const rollback = await validate(inputs);
    expect(rollback.outputs.verdict).toBe('rollback');
    expect(rollback.outputs.reasons).toMatch(
      /^P99 latency above 1s for 5s: requests slower than 1s \d+ of [\d,]+ requests/,
    );
    const warn = await validate({ ...inputs, duration: '12s', 'p99-breach-action': 'warn' });
    expect(warn.exitCode).toBe(0);
    expect(warn.outputs.verdict).toBe('warn');
    expect(warn.warnings[0]).toContain('P99 latency above 1s');
  });

  test.each([
    ['sse', { sse: 'silent' }, /sse: /],
    ['websocket', { ws: 'refuse' }, /websocket: /],
  ])('a user-impacting %s failure is a critical bug', async (check, params, reason) => {
    degrade(pods[0]!, params);
    const run = await validate({ pod: pods[0]!, checks: `health, ${check}` });
    expect(run.outputs.verdict).toBe('rollback');
    expect(run.outputs.reasons).toMatch(/User-impacting failure/);
    expect(run.outputs.reasons).toMatch(reason);
  });

  test('rejected orders, on the engine URL (the API proxy does not forward Authorization)', async () => {
    degrade(pods[0]!, { orders: 'reject' });
    const engine = cluster.sandbox.engineOf('veloz', pods[0]!)!;
    const run = await validate({ url: engine.url, checks: 'order', 'test-token': cluster.sandbox.testToken });
    expect(run.outputs.verdict).toBe('rollback');
    expect(run.outputs.reasons).toMatch(/order: /);
    expect(
      run.stdout
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n'),
    ).not.toContain(cluster.sandbox.testToken);
  });

  test('fail-on-rollback: false reports the verdict without failing the step', async () => {
    degrade(pods[0]!, { health: 'fail' });
    const run = await validate({ pod: pods[0]!, checks: 'health', 'fail-on-rollback': 'false' });
    expect(run.exitCode).toBe(0);
    expect(run.outputs.verdict).toBe('rollback');
  });
});

describe('the noisy engine double (seeded Poisson arrivals, binomial errors)', () => {
  // 30 s at 400 rps is ~12,000 requests: a true 6% clears the 99% lower bound on most looks (not all: noise)
  const window = { checks: 'health, metrics', duration: '90s', interval: '1s', 'rollback-error-rate-for': '30s' };

  test('a true 6% is rolled back, with the evidence in counts', async () => {
    degrade(pods[0]!, { 'error-rate': '6%', seed: '1606' });
    const run = await validate({ pod: pods[0]!, ...window });
    expect(run.outputs.verdict).toBe('rollback');
    expect(run.outputs.reasons).toMatch(
      /^Error rate above 5% for 30s: errors [\d,]+ of [\d,]+ requests over the last \d+(\.\d+)?s, \d(\.\d)?%, 99% lower bound 5(\.\d)?%/,
    );
  });

  test('a true 3% passes (§3.3 columns set above it, and honoured without Prometheus)', async () => {
    degrade(pods[0]!, { 'error-rate': '3%', seed: '1603' });
    const run = await validate({
      pod: pods[0]!,
      ...window,
      duration: '35s',
      'expected-error-rate': '6%',
      'alert-error-rate': '10%',
    });
    expect(run.errors).toEqual([]);
    expect(run.outputs.verdict).toBe('pass');
    // The §3.3 row is the last pass's sample: a binomial draw of a few hundred requests, so it must lie
    // within 4 standard errors of the true 3% for the request count that pass reports (not a fixed band).
    const row = /\| Error rate \| (\d+(?:\.\d+)?)% \| &lt; 6% \| &gt; 10% \|/.exec(run.summary);
    const sample = /errors (\d+(?:\.\d+)?)% of (\d+) requests/.exec(run.summary);
    expect(row).not.toBeNull();
    expect(sample).not.toBeNull();
    const observed = Number(row![1]) / 100;
    expect(observed).toBeCloseTo(Number(sample![1]) / 100, 4);
    const standardError = Math.sqrt((0.03 * 0.97) / Number(sample![2]));
    expect(Math.abs(observed - 0.03)).toBeLessThan(4 * standardError);
  });

  test('too little traffic to judge 5% for 10s is insufficient data: warn, never a silent pass', async () => {
    degrade(pods[1]!, { 'error-rate': '6%', seed: '1602', rps: '2' });
    const run = await validate({
      pod: pods[1]!,
      ...window,
      duration: '12s',
      'rollback-error-rate-for': '10s',
      'alert-error-rate': '100%',
      'expected-error-rate': '100%',
    });
    expect(run.exitCode).toBe(0);
    expect(run.outputs.verdict).toBe('warn');
    expect(run.outputs.reasons).toMatch(/Insufficient data: error rate above 5% for 10s: errors \d+ of \d+ requests/);
  });

  test('a fast burn (80% errors) is a critical bug at once, naming the rule', async () => {
    degrade(pods[1]!, { 'error-rate': '80%', seed: '1680' });
    const run = await validate({ pod: pods[1]!, ...window });
    expect(run.outputs.verdict).toBe('rollback');
    expect(run.outputs.reasons).toMatch(
      /^Fast burn \(§4\.1 critical bug, user-impacting → immediate rollback\): errors /,
    );
    expect(run.outputs.reasons).toContain('rule fast-burn: error rate ≥ 50% over 1m with ≥ 100 requests');
    expect(run.stdout).toMatch(/pass 2 at \+1s: .*→ ROLLBACK/);
  });
});

describe('canary vs baseline (Mann-Whitney U)', () => {
  test('a slower canary is judged against a stable pod and, with baseline-gate, rolled back', async () => {
    degrade(pods[0]!, { p99: '400ms' });
    const run = await validate({
      pod: pods[0]!,
      checks: 'health',
      baseline: pods[1]!,
      'baseline-gate': 'true',
      duration: '9s',
      interval: '1s',
    });
    expect(run.outputs.verdict).toBe('rollback');
    expect(run.outputs.reasons).toContain('significantly worse than the baseline on P99 latency');
    expect(run.summary).toMatch(/\| P99 latency \| fail \| U=\d/);
    // canary and baseline on one chart, each pass's p99, the verdict's pass marked
    const chart = /### P99 latency per pass\n\n```mermaid\n([\s\S]*?)\n```\n\n(.*)\n/.exec(run.summary);
    expect(chart?.[1]?.split('\n').filter((l) => l.startsWith('  line ['))).toHaveLength(4);
    expect(chart?.[1]).toMatch(/"ROLLBACK \+\d/);
    expect(chart?.[2]).toContain(`red: canary · blue: baseline ${pods[1]!}`);
    expect(await parseMermaid(chart![1]!)).toBe('xychart');
  });
});

describe('what is not a rollback', () => {
  test('error lines in the logs warn', async () => {
    degrade(pods[1]!, { 'log-errors': '20/s' });
    await new Promise((r) => setTimeout(r, 1500));
    const run = await validate({ pod: pods[1]!, checks: 'logs', since: new Date(Date.now() - 60_000).toISOString() });
    expect(run.exitCode).toBe(0);
    expect(run.outputs.verdict).toBe('warn');
    expect(run.outputs.reasons).toMatch(/^logs: fail — \d+ line\(s\) matching \/error\/i/);
  });

  describe('with a real Prometheus', () => {
    let prometheus: Prometheus;
    beforeAll(async () => {
      prometheus = await startPrometheus({
        targets: cluster.sandbox.engines().map((e) => e.scrapeTarget()),
        scrapeInterval: '1s',
      });
      await prometheus.waitForTargetsUp();
    }, 60_000);
    afterAll(async () => prometheus?.stop());

    test('no data is a visible outcome, never a silent pass', async () => {
      const inputs = {
        pod: pods[0]!,
        checks: 'slo',
        'prometheus-url': prometheus.url,
        'query-error-rate': 'sum(rate(nothing_here_total[1m]))',
      };
      const warn = await validate(inputs);
      expect(warn.exitCode).toBe(0);
      expect(warn.outputs.verdict).toBe('warn');
      expect(warn.outputs.reasons).toMatch(/slo: nodata/);
      const fail = await validate({ ...inputs, nodata: 'fail' });
      expect(fail.exitCode).toBe(1);
      expect(fail.errors[0]).toContain('No data from Prometheus');
    });
  });
});
