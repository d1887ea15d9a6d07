/**
 * Every bad input in one run (issue 13 item 7): runAction parses with a collecting reader
 * (readInputs), so three bad inputs are three errors, a cross-field InputError joins them, and a
 * crash on a placeholder after a recorded error reports only what was recorded.
 */
import { describe, expect, test } from '@jest/globals';
import { ACTION_NAMES, loadActionMetadata, type ActionName } from '@veloz/harness';
import { InputError, InputReader, readInputs } from '@veloz/shared/inputs';
import { parseDuration } from '@veloz/shared/parse';
import { canaryAction } from '../../actions/canary/src/main';
import { preflightAction } from '../../actions/preflight/src/main';
import { rollbackAction } from '../../actions/rollback/src/main';
import { validateAction } from '../../actions/validate/src/main';

type Parse = (reader: InputReader, mask: (secret: string) => void) => unknown;
const definitions: Record<ActionName, { parse: Parse }> = {
  preflight: preflightAction,
  canary: canaryAction,
  validate: validateAction,
  rollback: rollbackAction,
};

const REQUIRED: Record<ActionName, Record<string, string>> = {
  preflight: {},
  canary: { phase: 'canary', version: '1.1.0', chart: './infra/helm/veloz' },
  validate: { url: 'http://127.0.0.1:9' },
  rollback: { reason: 'error rate above 5% for 5m' },
};

/** Three malformed inputs per action, each a different input and a different parser. */
const THREE_BAD: Record<ActionName, Record<string, string>> = {
  preflight: { 'check-timeout': '5 minutes', replicas: 'two', driver: 'argo' },
  canary: { timeout: 'soon', replicas: 'many', phase: 'later' },
  validate: { interval: '30', duration: 'forever', driver: 'argo' },
  rollback: { timeout: '5x', force: 'maybe', driver: 'argo' },
};

async function source(action: ActionName, values: Record<string, string>): Promise<(name: string) => string> {
  const meta = await loadActionMetadata(action);
  const all: Record<string, string> = {};
  for (const [name, input] of Object.entries(meta.inputs)) if (input.default !== undefined) all[name] = input.default;
  Object.assign(all, { kubeconfig: 'in-cluster' }, REQUIRED[action], values);
  return (name) => all[name] ?? '';
}

describe('readInputs collects every bad input', () => {
  test.each([...ACTION_NAMES])('%s: three bad inputs, three errors, each naming its input and value', async (a) => {
    const { settings, errors } = await readInputs(definitions[a].parse, await source(a, THREE_BAD[a]));
    expect(settings).toBeUndefined();
    expect(errors.map((e) => e.input).sort()).toEqual(Object.keys(THREE_BAD[a]).sort());
    for (const error of errors) {
      expect(error).toBeInstanceOf(InputError);
      expect(error.message).toContain(`Input '${error.input}' has value ${JSON.stringify(THREE_BAD[a][error.input])}`);
    }
  });

  test.each([...ACTION_NAMES])('%s: good inputs give settings and no error', async (a) => {
    const { settings, errors } = await readInputs(definitions[a].parse, await source(a, {}));
    expect(errors).toEqual([]);
    expect(settings).toBeDefined();
  });

  test('a cross-field InputError thrown by the parse joins the recorded ones', async () => {
    // driver helm without chart is a cross-field check in canary/src/inputs.ts.
    const read = await readInputs(
      definitions.canary.parse,
      await source('canary', { chart: '', timeout: 'soon', replicas: 'many' }),
    );
    expect(read.errors.map((e) => e.input)).toEqual(['replicas', 'timeout', 'chart']);
    expect(read.errors[2]!.message).toContain('because driver is helm');
  });

  test('a cross-field check on an input already reported adds no second error for it', async () => {
    const parse = (r: InputReader): number => {
      const ttl = r.must('lock-ttl', (t) => (t === 'bad' ? parseDuration(t) : 5000), {}, 0);
      if (ttl < 10_000) throw new InputError('lock-ttl', r.text('lock-ttl'), 'a duration of at least 10s');
      return ttl;
    };
    const read = await readInputs(parse, (n) => (n === 'lock-ttl' ? 'bad' : ''));
    expect(read.errors.map((e) => e.message)).toEqual([expect.stringContaining('expected a duration such as')]);
  });

  test('numeric placeholders cannot invent an error about a good input', async () => {
    // canary-replicas (1) > replicas (bad, NaN placeholder) is false: only replicas is reported.
    const read = await readInputs(definitions.canary.parse, await source('canary', { replicas: 'x' }));
    expect(read.errors.map((e) => e.input)).toEqual(['replicas']);
  });

  test('a parse that crashes on a placeholder reports only the recorded errors', async () => {
    const parse = (r: InputReader): string => {
      const timeout = r.duration('timeout');
      const host = r.url('url', ['https:'])!.hostname; // TypeError: the url placeholder is undefined
      return `${host} ${r.duration('interval')} ${timeout}`;
    };
    const read = await readInputs(parse, (n) => ({ url: 'ftp://x', timeout: 'soon', interval: 'x' })[n] ?? '');
    // the crash stopped the parse before `interval`; no TypeError text, only the recorded errors
    expect(read.errors.map((e) => e.input)).toEqual(['timeout', 'url']);
    expect(read.errors[1]!.message).toContain('"ftp://x"');
    expect(read.errors.map((e) => e.message).join('\n')).not.toMatch(/TypeError|undefined/);
  });

  test('a crash with nothing recorded is a bug and is rethrown', async () => {
    const parse = (): never => {
      throw new TypeError('boom');
    };
    await expect(readInputs(parse, () => '')).rejects.toThrow('boom');
  });

  test('required and unset is recorded too, and secrets are never shown', async () => {
    const parse = (r: InputReader): unknown[] => [
      r.text('reason', { required: true }),
      r.must('postgres-url', (t) => parseDuration(t), { secret: true }),
    ];
    const masked: string[] = [];
    const read = await readInputs(
      parse,
      (n) => (n === 'postgres-url' ? 'hunter2' : ''),
      (s) => masked.push(s),
    );
    expect(read.errors.map((e) => e.input)).toEqual(['reason', 'postgres-url']);
    expect(read.errors[0]!.message).toContain('required but was not set');
    expect(read.errors[1]!.message).not.toContain('hunter2');
    expect(masked).toEqual(['hunter2']);
  });

  test('a reader without collect still throws at the first bad input', () => {
    const reader = new InputReader((n) => ({ a: 'x', b: 'y' })[n] ?? '');
    expect(() => reader.duration('a')).toThrow("Input 'a'");
    expect(reader.errors).toEqual([]);
  });
});
