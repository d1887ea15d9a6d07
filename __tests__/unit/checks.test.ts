import { describe, expect, test } from '@jest/globals';
import { describeError, runChecks, type Check } from '@veloz/shared/checks';
import { ManualClock } from '@veloz/harness/clock';
import { systemClock } from '@veloz/shared/clock';

function check(name: string, run: Check['run'], timeoutMs = 1000): Check {
  return { name, title: name, timeoutMs, run };
}

describe('runChecks', () => {
  test('runs checks concurrently and returns results in the given order', async () => {
    const started: string[] = [];
    const slow = check('slow', async ({ clock }) => {
      started.push('slow');
      await clock.sleep(60);
      return { status: 'pass', observed: 'slow done' };
    });
    const fast = check('fast', async () => {
      started.push('fast');
      return { status: 'warn', observed: 'fast done' };
    });
    const settled: string[] = [];
    const results = await runChecks([slow, fast], { onResult: (r) => settled.push(r.name) });
    expect(started).toEqual(['slow', 'fast']);
    expect(settled).toEqual(['fast', 'slow']);
    expect(results.map((r) => [r.name, r.status, r.observed])).toEqual([
      ['slow', 'pass', 'slow done'],
      ['fast', 'warn', 'fast done'],
    ]);
  });

  test('a hanging check times out alone and its signal is aborted', async () => {
    const clock = new ManualClock(0);
    let aborted = false;
    const hang = check(
      'hang',
      ({ signal }) =>
        new Promise(() => {
          signal.addEventListener('abort', () => (aborted = true));
        }),
      30_000,
    );
    const ok = check('ok', async () => ({ status: 'pass' }), 30_000);
    const pending = runChecks([hang, ok], { clock });
    await clock.advance(30_000);
    const results = await pending;
    expect(results[0]).toMatchObject({
      name: 'hang',
      status: 'fail',
      detail: 'The check did not finish within its 30s timeout.',
    });
    expect(results[0]?.durationMs).toBe(30_000);
    expect(results[1]).toMatchObject({ name: 'ok', status: 'pass' });
    expect(aborted).toBe(true);
  });

  test('a throwing check fails with its cause chain, no stack', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const [result] = await runChecks([
      check('postgres', async () => {
        throw new Error('could not reach the primary', { cause: refused });
      }),
    ]);
    expect(result?.status).toBe('fail');
    expect(result?.detail).toBe('could not reach the primary: caused by connect ECONNREFUSED 127.0.0.1:5432');
    expect(result?.detail).not.toMatch(/\n\s+at /);
  });

  test('a parent abort reaches every running check', async () => {
    const controller = new AbortController();
    const seen: unknown[] = [];
    const waiting = check(
      'waiting',
      ({ signal }) =>
        new Promise((resolve) =>
          signal.addEventListener('abort', () => {
            seen.push(signal.reason);
            resolve({ status: 'skip', detail: 'cancelled' });
          }),
        ),
    );
    const pending = runChecks([waiting], { signal: controller.signal, clock: systemClock });
    controller.abort(new Error('cancelled'));
    expect((await pending)[0]?.status).toBe('skip');
    expect(seen).toHaveLength(1);
  });

  test('describeError adds codes once', () => {
    expect(describeError(Object.assign(new Error('lookup failed'), { code: 'ENOTFOUND' }))).toBe(
      'lookup failed (ENOTFOUND)',
    );
    expect(describeError('plain')).toBe('plain');
  });
});
