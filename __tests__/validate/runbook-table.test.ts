import { describe, expect, test } from '@jest/globals';
import { loadActionMetadata } from '@veloz/harness';
import { InputReader } from '@veloz/shared/inputs';
import { parseDuration, parseInteger, parsePercentage } from '@veloz/shared/parse';
import {
  FAST_BURN_DEFAULT,
  RUNBOOK_ALERT,
  RUNBOOK_EXPECTED,
  RUNBOOK_ROLLBACK,
  RUNBOOK_SLO,
} from '@veloz/shared/runbook';
import { parseValidateInputs } from '../../actions/validate/src/inputs';

async function defaults(): Promise<Record<string, string>> {
  const meta = await loadActionMetadata('validate');
  return Object.fromEntries(
    Object.entries(meta.inputs).flatMap(([name, input]) =>
      input.default === undefined ? [] : [[name, input.default]],
    ),
  );
}

describe('validate/action.yml defaults are the runbook table (packages/shared/src/runbook.ts)', () => {
  test('§4.1: more than 3 consecutive health failures, 5% for 5m, 1s for 5m, likely rollback', async () => {
    const d = await defaults();
    expect({
      consecutiveHealthFailures: parseInteger(d['rollback-consecutive-health-failures']!),
      errorRate: parsePercentage(d['rollback-error-rate']!),
      errorRateForMs: parseDuration(d['rollback-error-rate-for']!),
      p99Ms: parseDuration(d['rollback-p99']!),
      p99ForMs: parseDuration(d['rollback-p99-for']!),
      p99BreachAction: d['p99-breach-action'],
    }).toEqual({ ...RUNBOOK_ROLLBACK });
    // and the runbook's own numbers, so the table cannot drift from the text either
    expect(RUNBOOK_ROLLBACK).toMatchObject({
      consecutiveHealthFailures: 3,
      errorRate: 0.05,
      errorRateForMs: 300_000,
      p99Ms: 1000,
      p99ForMs: 300_000,
    });
  });

  test('§3.3: Expected and Alert Threshold columns', async () => {
    const d = await defaults();
    expect({
      errorRate: parsePercentage(d['expected-error-rate']!),
      p99Ms: parseDuration(d['expected-p99']!),
      cpu: parsePercentage(d['expected-cpu']!),
      memory: parsePercentage(d['expected-memory']!),
    }).toEqual({ ...RUNBOOK_EXPECTED });
    expect({
      errorRate: parsePercentage(d['alert-error-rate']!),
      p99Ms: parseDuration(d['alert-p99']!),
      cpu: parsePercentage(d['alert-cpu']!),
      memory: parsePercentage(d['alert-memory']!),
      connections: parseInteger(d['alert-connections']!),
    }).toEqual({ ...RUNBOOK_ALERT });
    expect(RUNBOOK_SLO).toEqual({
      expected: { errorRate: 0.001, p99Ms: 100, cpu: 0.5, memory: 0.6 },
      alert: { errorRate: 0.01, p99Ms: 500, cpu: 0.8, memory: 0.85, connections: 1000 },
    });
  });

  test('fast burn: 50% over 1m with at least 100 requests', async () => {
    const d = await defaults();
    expect({
      errorRate: parsePercentage(d['fast-burn-error-rate']!),
      windowMs: parseDuration(d['fast-burn-window']!),
      minRequests: parseInteger(d['fast-burn-min-requests']!),
    }).toEqual({ ...FAST_BURN_DEFAULT });
  });
});

describe('the parsed settings carry the table to checks and decision, with and without Prometheus', () => {
  const parse = async (extra: Record<string, string>) => {
    const values: Record<string, string> = {
      ...(await defaults()),
      kubeconfig: 'in-cluster',
      url: 'http://127.0.0.1:8080',
      ...extra,
    };
    return parseValidateInputs(new InputReader((name) => values[name] ?? ''), () => {});
  };

  test('defaults', async () => {
    const s = await parse({});
    expect(s.decision).toEqual({ ...RUNBOOK_ROLLBACK, fastBurn: { ...FAST_BURN_DEFAULT } });
    expect(s.thresholds).toEqual(RUNBOOK_SLO);
    expect(s.slo).toBeUndefined();
  });

  test('alert-* and expected-* take effect without prometheus-url (the engine /metrics check uses them) and with it', async () => {
    const without = await parse({ 'alert-error-rate': '4%', 'expected-p99': '200ms' });
    expect(without.thresholds.alert.errorRate).toBe(0.04);
    expect(without.thresholds.expected.p99Ms).toBe(200);
    const withProm = await parse({ 'alert-error-rate': '4%', 'prometheus-url': 'http://127.0.0.1:9090' });
    expect(withProm.slo?.alert.errorRate).toBe(0.04);
    expect(withProm.thresholds.alert.errorRate).toBe(0.04);
  });

  test('fast burn can be set or switched off; a bad value is one clear error', async () => {
    expect((await parse({ 'fast-burn-error-rate': '30%', 'fast-burn-window': '2m' })).decision.fastBurn).toEqual({
      errorRate: 0.3,
      windowMs: 120_000,
      minRequests: 100,
    });
    expect((await parse({ 'fast-burn-error-rate': 'off' })).decision.fastBurn).toBeUndefined();
    await expect(parse({ 'fast-burn-error-rate': '0%' })).rejects.toThrow(
      /fast-burn-error-rate.*0%.*a percentage above 0% such as 50%, or `off`/,
    );
    await expect(parse({ 'fast-burn-window': '0s' })).rejects.toThrow(/fast-burn-window/);
  });
});
