import { describe, expect, test } from '@jest/globals';
import { loadActionMetadata } from '@veloz/harness';
import { readInputs } from '@veloz/shared/inputs';
import { parseCanaryInputs } from '../../actions/canary/src/inputs';
import { parseRollbackInputs } from '../../actions/rollback/src/inputs';

// Canary and rollback read their timeout and Lease limits through one parser: same bounds, same words.
async function errorsOf(action: 'canary' | 'rollback', values: Record<string, string>): Promise<string[]> {
  const meta = await loadActionMetadata(action);
  const all: Record<string, string> = {
    kubeconfig: 'in-cluster',
    version: '1.1.0',
    reason: 'test',
    phase: 'canary',
    chart: './chart',
  };
  for (const [name, input] of Object.entries(meta.inputs)) if (input.default !== undefined) all[name] ??= input.default;
  Object.assign(all, values);
  const source = (name: string): string => all[name] ?? '';
  const read =
    action === 'canary' ? await readInputs(parseCanaryInputs, source) : await readInputs(parseRollbackInputs, source);
  return read.errors.map((e) => e.message);
}

describe('run limits (timeout, lock-ttl, lock-wait)', () => {
  test.each(['canary', 'rollback'] as const)('%s accepts its defaults', async (action) => {
    expect(await errorsOf(action, {})).toEqual([]);
  });

  test('both actions refuse the same values with the same message, showing the value given', async () => {
    const bad = { timeout: '0', 'lock-ttl': '5s', 'lock-wait': 'soon' };
    const canary = await errorsOf('canary', bad);
    expect(canary).toEqual([
      'Input \'timeout\' has value "0": expected a duration above zero, such as 5m.',
      'Input \'lock-ttl\' has value "5s": expected a duration of at least 10s.',
      'Input \'lock-wait\' has value "soon": expected a duration such as 500ms, 30s, 5m, 1h or 1h30m.',
    ]);
    expect(await errorsOf('rollback', bad)).toEqual(canary);
  });

  test('a bad limit is reported together with the other bad inputs, not instead of them', async () => {
    const errors = await errorsOf('rollback', { timeout: '0', 'to-revision': 'latest' });
    expect(errors).toHaveLength(2);
    expect(errors.join('\n')).toMatch(/'timeout'[\s\S]*'to-revision'|'to-revision'[\s\S]*'timeout'/);
  });
});
