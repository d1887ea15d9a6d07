import { describe, expect, test } from '@jest/globals';
import { InputError, InputReader, freeze } from '@veloz/shared/inputs';
import { parseHostPort } from '@veloz/shared/parse';
import { readTarget } from '@veloz/shared/target';

function reader(values: Record<string, string>, masked: string[] = []): InputReader {
  return new InputReader(
    (name) => values[name] ?? '',
    (s) => masked.push(s),
  );
}

describe('InputReader', () => {
  test('names the input, shows the value and what is expected', () => {
    expect(() => reader({ timeout: 'soon' }).duration('timeout')).toThrow(
      new InputError('timeout', 'soon', 'a duration such as 500ms, 30s, 5m, 1h or 1h30m'),
    );
    expect(() => reader({ timeout: 'soon' }).duration('timeout')).toThrow(
      'Input \'timeout\' has value "soon": expected a duration such as 500ms, 30s, 5m, 1h or 1h30m.',
    );
  });

  test('a required input left unset says so', () => {
    expect(() => reader({}).text('reason', { required: true })).toThrow("Input 'reason' is required but was not set");
  });

  test('secrets are masked at parse time and never shown in errors', () => {
    const masked: string[] = [];
    const r = reader({ 'registry-password': 'hunter2', 'sentinel-password': 'p@ss' }, masked);
    expect(r.optional('registry-password', { secret: true })).toBe('hunter2');
    expect(masked).toEqual(['hunter2']);
    let error: unknown;
    try {
      r.must('sentinel-password', parseHostPort, { secret: true });
    } catch (e) {
      error = e;
    }
    expect(String((error as Error).message)).not.toContain('p@ss');
    expect(String((error as Error).message)).toContain('***');
  });

  test('records every input it read, with required and secret flags', () => {
    const r = reader({ a: '1' });
    r.text('a', { required: true });
    r.optional('b', { secret: true });
    expect(Object.fromEntries(r.used)).toEqual({
      a: { required: true, secret: false },
      b: { required: false, secret: true },
    });
  });

  test('host:port lists name the input', () => {
    expect(() => reader({ s: '127.0.0.1:26379, nope' }).hostPorts('s')).toThrow('Input \'s\' has value "nope"');
  });
});

describe('shared target inputs', () => {
  const defaults = {
    namespace: 'veloz',
    deployment: 'veloz-engine',
    release: 'veloz',
    driver: 'helm',
    'allow-auth-provider-commands': 'false',
    kubeconfig: 'in-cluster',
  };
  const parsed = { namespace: 'veloz', deployment: 'veloz-engine', release: 'veloz', driver: 'helm', commandEnv: [] };

  test('parses the defaults; in-cluster credentials only when asked for by name', () => {
    expect(readTarget(reader(defaults), () => {})).toEqual({ ...parsed, inCluster: true });
  });

  test('the in-cluster keyword is not a secret: masking it would turn every "in-cluster" in the log into ***', () => {
    const masked: string[] = [];
    readTarget(reader(defaults, masked), (s) => masked.push(s));
    expect(masked).toEqual([]);
  });

  test('an empty kubeconfig without KUBECONFIG fails instead of reading ~/.kube/config', () => {
    expect(() => readTarget(reader({ ...defaults, kubeconfig: '' }), () => {}, { env: {} })).toThrow(
      "Input 'kubeconfig' is required but was not set: expected kubeconfig content",
    );
  });

  test('masks the credentials inside kubeconfig content line by line', () => {
    const masked: string[] = [];
    const kubeconfig = [
      'apiVersion: v1',
      'clusters:',
      '- cluster: {server: "https://k8s:6443"}',
      '  name: prod',
      'contexts:',
      '- context: {cluster: prod, user: deployer}',
      '  name: prod',
      'users:',
      '- name: deployer',
      '  user:',
      '    token: s3cr3t-token',
      '    client-key-data: LS0tS0VZ',
    ].join('\n');
    readTarget(reader({ ...defaults, kubeconfig }, masked), (s) => masked.push(s));
    expect(masked).toEqual(expect.arrayContaining([kubeconfig, 's3cr3t-token', 'LS0tS0VZ']));
  });

  test('a path instead of content is refused without echoing it', () => {
    expect(() => readTarget(reader({ ...defaults, kubeconfig: '/home/me/.kube/config' }), () => {})).toThrow(
      "Input 'kubeconfig' has value ***: expected the content of a kubeconfig file",
    );
  });

  test.each([
    ['namespace', 'Veloz'],
    ['release', 'x'.repeat(54)],
    ['driver', 'argo'],
  ])('bad %s is refused', (name, value) => {
    expect(() => readTarget(reader({ ...defaults, [name]: value }), () => {})).toThrow(`Input '${name}'`);
  });
});

test('settings are frozen all the way down', () => {
  const settings = freeze({ a: { b: [1, 2] } });
  expect(Object.isFrozen(settings.a.b)).toBe(true);
});
