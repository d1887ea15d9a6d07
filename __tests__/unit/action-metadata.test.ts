import { describe, expect, test } from '@jest/globals';
import { ACTION_NAMES, REPO_ROOT, loadActionMetadata, type ActionName } from '@veloz/harness';
import { InputReader } from '@veloz/shared/inputs';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { canaryAction } from '../../actions/canary/src/main';
import { preflightAction } from '../../actions/preflight/src/main';
import { rollbackAction } from '../../actions/rollback/src/main';
import { validateAction } from '../../actions/validate/src/main';

const definitions = {
  preflight: preflightAction,
  canary: canaryAction,
  validate: validateAction,
  rollback: rollbackAction,
};

/** The least each action needs beyond action.yml defaults to parse. */
const REQUIRED_VALUES: Record<ActionName, Record<string, string>> = {
  preflight: {},
  canary: { phase: 'canary', version: '1.1.0', chart: './infra/helm/veloz' },
  validate: { url: 'http://127.0.0.1:8080' },
  rollback: { reason: 'error rate above 5% for 5m' },
};

describe.each(ACTION_NAMES)('%s/action.yml', (action) => {
  test('is public metadata that resolves to the committed bundle', async () => {
    const meta = await loadActionMetadata(action);
    expect(meta.name).toMatch(/^VeloZ /);
    expect(meta.description).toMatch(/Runbook §\d/);
    expect(meta.branding?.icon).toBeTruthy();
    expect(meta.branding?.color).toBeTruthy();
    expect(meta.runs).toEqual({ using: 'node24', main: `../dist/${action}/index.js` });
    expect(existsSync(resolve(REPO_ROOT, action, meta.runs.main))).toBe(true);
    for (const [name, input] of Object.entries(meta.inputs)) {
      expect([name, typeof input.description, input.description.length > 10]).toEqual([name, 'string', true]);
      expect([name, typeof input.required]).toEqual([name, 'boolean']);
      if (input.default !== undefined) expect([name, typeof input.default]).toEqual([name, 'string']);
    }
    for (const [name, output] of Object.entries(meta.outputs)) {
      expect([name, output.description.length > 5]).toEqual([name, true]);
    }
    expect(Object.keys(meta.outputs)).toContain('report');
  });

  test('declares exactly the inputs the code reads, with matching required and secret flags', async () => {
    const meta = await loadActionMetadata(action);
    const values: Record<string, string> = {};
    for (const [name, input] of Object.entries(meta.inputs))
      if (input.default !== undefined) values[name] = input.default;
    Object.assign(values, { kubeconfig: 'in-cluster' }, REQUIRED_VALUES[action]);
    const reader = new InputReader((name) => values[name] ?? '');
    await definitions[action].parse(reader, () => {});

    expect([...reader.used.keys()].sort()).toEqual(Object.keys(meta.inputs).sort());
    for (const [name, use] of reader.used) {
      const declared = meta.inputs[name]!;
      // The runner does not enforce `required`, the code does; an input the code cannot do without
      // must be required or have a default, and a required one must be refused when empty.
      if (declared.required) expect([name, use.required]).toEqual([name, true]);
      if (use.required) expect([name, declared.required || declared.default !== undefined]).toEqual([name, true]);
      expect([name, use.secret]).toEqual([name, /\(secret\)/.test(declared.description)]);
    }
  });
});
