import { describe, expect, test } from '@jest/globals';
import { NODE24, runActionBundle, type ActionName } from '@veloz/harness';
import { existsSync } from 'node:fs';

/** Valid values for each action's required inputs, so a single bad input is the only fault. */
// `in-cluster`: an explicit kubeconfig choice (an empty one without KUBECONFIG is itself an input error).
const BASE: Record<ActionName, Record<string, string>> = {
  preflight: { kubeconfig: 'in-cluster' },
  canary: { kubeconfig: 'in-cluster', phase: 'canary', version: '1.1.0', chart: './infra/helm/veloz' },
  validate: { kubeconfig: 'in-cluster', url: 'http://127.0.0.1:9' },
  rollback: { kubeconfig: 'in-cluster', reason: 'error rate above 5% for 5m' },
};

const MISSING: [ActionName, string, Record<string, string>][] = [
  ['preflight', 'namespace', { namespace: '' }],
  ['canary', 'version', { version: '' }],
  ['validate', 'url', { url: '' }],
  ['rollback', 'reason', { reason: '' }],
];

const MALFORMED_DURATION: [ActionName, string, string][] = [
  ['preflight', 'check-timeout', '5 minutes'],
  ['canary', 'timeout', 'soon'],
  ['validate', 'interval', '30'],
  ['rollback', 'timeout', '5x'],
];

function expectOneErrorNaming(run: Awaited<ReturnType<typeof runActionBundle>>, input: string, value?: string): void {
  expect(run.exitCode).toBe(1);
  expect(run.errors).toHaveLength(1);
  expect(run.errors[0]).toContain(`Input '${input}'`);
  if (value !== undefined) expect(run.errors[0]).toContain(JSON.stringify(value));
  expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  expect(run.outputs).toEqual({});
}

describe('bundles reject bad input before doing anything', () => {
  test.each(MISSING)('%s without %s', async (action, input, inputs) => {
    const run = await runActionBundle(action, { ...BASE[action], ...inputs });
    expectOneErrorNaming(run, input);
    expect(run.errors[0]).toContain('required but was not set');
  });

  test.each(MALFORMED_DURATION)('%s with a malformed %s', async (action, input, value) => {
    const run = await runActionBundle(action, { ...BASE[action], [input]: value });
    expectOneErrorNaming(run, input, value);
    expect(run.errors[0]).toContain('expected a duration such as 500ms, 30s, 5m, 1h or 1h30m');
  });

  test('a secret input in error is never echoed, and is masked', async () => {
    const run = await runActionBundle('preflight', {
      ...BASE.preflight,
      'postgres-url': 'mysql://veloz:hunter2@db/veloz',
    });
    expectOneErrorNaming(run, 'postgres-url');
    // The runner swallows ::add-mask:: lines; everything else it prints must not carry the secret.
    const printed = run.stdout.split('\n').filter((line) => !line.startsWith('::add-mask::'));
    expect(printed.join('\n')).not.toContain('hunter2');
    expect(run.masks).toContain('mysql://veloz:hunter2@db/veloz');
  });
});

describe("on GitHub's runtime (node24)", () => {
  test('the node24 binary from npm is there', () => expect(existsSync(NODE24)).toBe(true));

  test.each(MALFORMED_DURATION)('%s rejects a malformed %s the same way', async (action, input, value) => {
    const run = await runActionBundle(action, { ...BASE[action], [input]: value }, { node: NODE24 });
    expectOneErrorNaming(run, input, value);
  });

  test.each(['/usr/bin/node', '/usr/local/bin/node'].filter((p) => existsSync(p)))(
    'and on the machine node (%s) too',
    async (node) => {
      const run = await runActionBundle('canary', { ...BASE.canary, timeout: 'soon' }, { node });
      expectOneErrorNaming(run, 'timeout', 'soon');
    },
  );
});
