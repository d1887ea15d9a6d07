/**
 * Issue 27's leaks, from source: Helm values in a plan (env values, ConfigMap data, `--set`), a
 * secret cut by line chunking, files read from outside the workspace, and control characters in
 * free text.
 */
import { describe, expect, test } from '@jest/globals';
import { runCommand } from '@veloz/shared/command';
import { parseCanaryInputs } from '../../actions/canary/src/inputs';
import { shownHelmArgs } from '@veloz/shared/helm/cli';
import { diffManifests, parseManifest } from '@veloz/shared/plan/diff';
import { planSections } from '@veloz/shared/plan/model';
import { SecretRegistry, cutLongLine, freeText, secretRegistry, singleLine } from '@veloz/shared/secrets';
import { parseRollbackInputs } from '../../actions/rollback/src/inputs';
import { inputsWithDefaults } from '../support/settings';

describe('plans show that a Helm value changed, never the value', () => {
  const engine = (env: string, password: string) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: veloz-engine }
spec:
  template:
    spec:
      initContainers: [{ name: migrate, env: [{ name: DB_PASSWORD, value: ${password} }] }]
      containers: [{ name: engine, image: e:1, env: [{ name: LOG, value: info }, ${env}] }]
---
apiVersion: v1
kind: ConfigMap
metadata: { name: veloz-config }
data: { api-key: ${password}, mode: live }
`;

  test('env[].value and ConfigMap data: changed, added or removed, without old or new', () => {
    const before = parseManifest(engine('{ name: API_KEY, value: LEAKoldvalue1 }', 'LEAKoldpass1'));
    const after = parseManifest(engine('{ name: API_KEY, value: LEAKnewvalue2 }', 'LEAKnewpass2'));
    const changes = diffManifests(before, after);
    expect(changes).toEqual([
      {
        object: 'Deployment/veloz-engine',
        change: 'changed',
        fields: [
          {
            path: 'spec.template.spec.containers[0].env[1].value',
            before: '(value not shown)',
            after: 'changed',
          },
          {
            path: 'spec.template.spec.initContainers[0].env[0].value',
            before: '(value not shown)',
            after: 'changed',
          },
        ],
      },
      {
        object: 'ConfigMap/veloz-config',
        change: 'changed',
        fields: [{ path: 'data.api-key', before: '(value not shown)', after: 'changed' }],
      },
    ]);
    // an env entry added to a running Deployment, and a new Deployment altogether
    const added = diffManifests(
      before,
      parseManifest(engine('{ name: API_KEY, value: LEAKoldvalue1 }, { name: T, value: LEAKadded3 }', 'LEAKoldpass1')),
    );
    expect(added[0]!.fields).toEqual([
      { path: 'spec.template.spec.containers[0].env[2].name', before: undefined, after: 'T' },
      { path: 'spec.template.spec.containers[0].env[2].value', after: 'set (value not shown)' },
    ]);
    const created = diffManifests([], after);
    const text = JSON.stringify([
      changes,
      added,
      created,
      planSections({ operation: 'rollback', commands: [], target: 'x', changes: created }),
    ]);
    expect(text).not.toMatch(/LEAK/);
    expect(text).toContain('set (value not shown)');
  });

  test('the set input shows as name=*** in a helm argv; our own tag and size stay readable', () => {
    const args = [
      'upgrade',
      'veloz',
      './chart',
      '--set',
      'db.password=LEAKsetvalue',
      '--set-string',
      'image.tag=1.3.0',
    ];
    expect(shownHelmArgs(args, ['db.password=LEAKsetvalue'])).toEqual([
      'upgrade',
      'veloz',
      './chart',
      '--set',
      'db.password=***',
      '--set-string',
      'image.tag=1.3.0',
    ]);
  });

  test('a bad set line is named by its number; no value of the input is quoted', async () => {
    const reader = await inputsWithDefaults('canary', {
      phase: 'canary',
      version: '1.3.0',
      chart: './chart',
      set: 'db.password=LEAKsetvalue\nLEAKbare',
    });
    expect(() => parseCanaryInputs(reader, () => {})).toThrow(
      "Input 'set' has value ***: expected key=value lines (line 2 has no '=').",
    );
  });
});

describe('a long line is redacted whole, then cut', () => {
  const TOKEN = 'LEAKchunkedtoken0123456789abcdef';

  test('cutLongLine: a secret across the cut is redacted; one still arriving waits for its rest', () => {
    const registry = new SecretRegistry();
    registry.add(TOKEN);
    const whole = cutLongLine(`${'x'.repeat(3990)}${TOKEN}${'y'.repeat(20)}`, 4000, registry);
    expect(whole.pieces.join('')).toBe(`${'x'.repeat(3990)}***${'y'.repeat(20)}`);
    expect(whole.pieces.map((p) => p.length)).toEqual([4000, 13]);
    const arriving = cutLongLine(`${'x'.repeat(4010)}${TOKEN.slice(0, 12)}`, 4000, registry);
    expect(arriving.rest).toBe(TOKEN.slice(0, 12));
    expect(arriving.pieces.join('')).toBe('x'.repeat(4010));
  });

  test('runCommand: a token split between two writes of a 4,000+ character line never shows', async () => {
    secretRegistry.add(TOKEN);
    const script = `process.stdout.write('x'.repeat(3990) + ${JSON.stringify(TOKEN.slice(0, 14))});
      setTimeout(() => process.stdout.write(${JSON.stringify(TOKEN.slice(14))} + 'y'.repeat(5000) + '\\n'), 200);`;
    const result = await runCommand([process.execPath, '-e', script], { timeoutMs: 10_000 });
    secretRegistry.clear();
    expect(result.ok).toBe(true);
    const text = result.lines.join('\n');
    expect(text).toContain('***');
    expect(text).not.toContain(TOKEN.slice(0, 14));
    expect(text).not.toContain(TOKEN.slice(14));
    expect(result.lines.map((l) => l.slice(0, 12))).toEqual(['x'.repeat(12), '***yyyyyyyyy']);
  });
});

describe('free text reaches a summary and a chat line as written, and within bounds', () => {
  test('bidi overrides and C0/C1 controls are removed or become a space', () => {
    expect(singleLine('roll back \u202Egnirts\u202C now\u0085please\u009b')).toBe('roll back gnirts now please');
    expect(singleLine('a\u2066b\u2069c\u200Fd')).toBe('abcd');
  });

  test('a reason over 1,000 characters is a bad input naming its length, not cut', async () => {
    const reader = await inputsWithDefaults('rollback', { kubeconfig: 'in-cluster', reason: 'x'.repeat(120_000) });
    expect(() => parseRollbackInputs(reader, () => {})).toThrow("Input 'reason' has value");
    expect(() => freeText('y'.repeat(1001))).toThrow('one line of at most 1000 characters (this one has 1001)');
    expect(freeText('  error rate above 5% for 5 minutes \n')).toBe('error rate above 5% for 5 minutes');
  });
});
