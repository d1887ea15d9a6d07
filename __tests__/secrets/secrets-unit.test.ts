/** The secret registry, kubeconfig parsing, child environment and transport rules, from source. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tokenRealm } from '../../actions/preflight/src/checks/image';
import { parseRollbackInputs } from '../../actions/rollback/src/inputs';
import { allowChildEnv, childEnvironment, commandEnvNameProblem } from '@veloz/shared/child-env';
import { runCommand } from '@veloz/shared/command';
import { InputReader } from '@veloz/shared/inputs';
import { readKubeconfig } from '@veloz/shared/kubeconfig';
import { ParseError } from '@veloz/shared/parse';
import { appendDeploymentLog } from '@veloz/shared/records/deployment-log';
import { parseEnvironmentName, readRecords } from '@veloz/shared/records/settings';
import { postNotification } from '@veloz/shared/records/webhook';
import { emptyReport, renderSummary } from '@veloz/shared/report';
import {
  SecretRegistry,
  displayConnection,
  displayUrl,
  escapeMarkdown,
  escapeMrkdwn,
  fenceFor,
  secretRegistry,
  singleLine,
} from '@veloz/shared/secrets';
import { readTarget } from '@veloz/shared/target';
import { startRecorder, type Recorder } from './leak-support';

const noSleep = { now: () => Date.now(), sleep: async () => {} };

describe('SecretRegistry', () => {
  test('registers a value once with its printed forms, and masks each once', () => {
    const masked: string[] = [];
    const r = new SecretRegistry((s) => masked.push(s));
    r.add('p@ss word/1');
    r.add('p@ss word/1');
    expect(masked).toEqual(['p@ss word/1', 'p%40ss%20word%2F1']);
    expect(r.redact('a p@ss word/1 b p%40ss%20word%2F1 c')).toBe('a *** b *** c');
  });

  test('a URL: the password decoded and encoded, a token user name, credential query values', () => {
    const r = new SecretRegistry();
    r.add('postgres://veloz:p%40ss%2Fw0rd@db:5432/veloz?sslmode=require');
    expect(r.list()).toEqual(expect.arrayContaining(['p%40ss%2Fw0rd', 'p@ss/w0rd']));
    expect(r.list()).not.toContain('veloz');
    expect(r.list()).not.toContain('require');
    r.addUrl('https://ghp_tokenvalue123@git.example.com/x?access_token=qtok-123&page=2');
    expect(r.list()).toEqual(expect.arrayContaining(['ghp_tokenvalue123', 'qtok-123']));
    expect(r.list()).not.toContain('2');
  });

  test('redact also drops user info from any URL, registered or not', () => {
    const r = new SecretRegistry();
    expect(r.redact('see https://deploy:S3cretPass@veloz.example.com/x and ftp://tok@h')).toBe(
      'see https://veloz.example.com/x and ftp://h',
    );
  });

  test('multi-line values are registered line by line; deep redaction copies', () => {
    const r = new SecretRegistry();
    r.add('-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEF\n-----END KEY-----');
    const report = { a: ['x MIIEvQIBADANBgkqhkiG9w0BAQEF y'], n: 3 };
    expect(r.redactDeep(report)).toEqual({ a: ['x *** y'], n: 3 });
    expect(report.a[0]).toContain('MIIE');
  });

  test('displayUrl: no user info, credential query values hidden, the rest kept', () => {
    expect(displayUrl('https://deploy:S3cretPass@veloz.example.com')).toBe('https://veloz.example.com');
    expect(displayUrl('http://127.0.0.1:8080/api/consistency?token=abc123&page=2')).toBe(
      'http://127.0.0.1:8080/api/consistency?token=***&page=2',
    );
    expect(displayUrl('not a url')).toBe('<unparseable URL>');
  });

  test('displayConnection: who connects where, without the password, the query or the scheme', () => {
    expect(displayConnection('postgres://veloz%40prod:pa55@db.internal:5432/veloz?sslpassword=x&sslmode=require')).toBe(
      'veloz@prod@db.internal:5432/veloz',
    );
    expect(displayConnection('postgres://db.internal/')).toBe('db.internal');
    expect(displayConnection('::::')).toBe('<unparseable URL>');
    // the registry pass as for every other text: a registered value in the user name is hidden too
    secretRegistry.add('svc-account-7731');
    expect(displayConnection('postgres://svc-account-7731:pw@db/veloz')).toBe('***@db/veloz');
  });
});

describe('the leak search itself', () => {
  test('finds a planted value in any encoding, and ignores only ::add-mask:: lines', async () => {
    const { findLeaks } = await import('./leak-support');
    const planted = { pw: 'p@ss/LEAKword' };
    expect(findLeaks({ a: '::add-mask::p@ss/LEAKword' }, planted)).toEqual([]);
    for (const text of ['x p@ss/LEAKword', 'p%40ss%2FLEAKword', Buffer.from('p@ss/LEAKword').toString('base64')]) {
      expect(findLeaks({ a: `line\n${text}` }, planted).length).toBeGreaterThan(0);
    }
  });
});

describe('free text', () => {
  test('single line, Markdown, Slack mrkdwn, code fences', () => {
    expect(singleLine('a\nb\r\nc\u2028d')).toBe('a b c d');
    expect(escapeMarkdown('[x](http://evil) *b* <img> `c`|')).toBe(
      '\\[x\\](http://evil) \\*b\\* &lt;img&gt; \\`c\\`\\|',
    );
    expect(escapeMrkdwn('<!channel> & <http://x|y>')).toBe('&lt;!channel&gt; &amp; &lt;http://x|y&gt;');
    expect(fenceFor('has ``` inside')).toBe('````');
  });

  test('the summary shows a fact as literal text and cannot be closed out of a notification fence', () => {
    const report = emptyReport('rollback', 'Rollback', new Date(0));
    report.facts.push({ label: 'Reason', value: 'bad\n## Approved [click](http://evil)' });
    report.notifications.push('ROLLBACK\n```\n# forged');
    const md = renderSummary(report);
    expect(md).not.toMatch(/^## Approved/m);
    expect(md).toContain('\\[click\\]');
    expect(md).toContain('````\nROLLBACK\n```\n# forged\n````');
  });

  test('rollback reason and incident become one line at parse time', () => {
    const values: Record<string, string> = {
      kubeconfig: 'in-cluster',
      'allow-auth-provider-commands': 'false',
      namespace: 'veloz',
      deployment: 'veloz-engine',
      release: 'veloz',
      driver: 'helm',
      reason: 'errors\n2026-01-01T00:00:00Z - Deployed v9',
      incident: 'INC-1\nINC-2',
      timeout: '5m',
      'database-restore': 'none',
      'allow-schema-mismatch': 'false',
      'incident-ticket': 'none',
      'incident-label': 'incident',
      'restore-timeout': '30m',
      'consistency-query': 'SELECT 1',
      environment: 'production',
      'allow-insecure-webhook': 'false',
      force: 'false',
      'lock-ttl': '2m',
      'lock-wait': '0s',
    };
    const s = parseRollbackInputs(new InputReader((n) => values[n] ?? ''), () => {});
    expect([s.reason, s.incident]).toEqual(['errors 2026-01-01T00:00:00Z - Deployed v9', 'INC-1 INC-2']);
  });

  test('environment is a name: a newline cannot forge a record', () => {
    expect(parseEnvironmentName('staging-eu')).toBe('staging-eu');
    expect(() => parseEnvironmentName('prod\n2026-01-01T00:00:00Z - Deployed v9')).toThrow(ParseError);
  });

  test('deployments.log gets one redacted line whatever the text', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'veloz-log-'));
    secretRegistry.add('LEAKlogsecret42');
    const line = await appendDeploymentLog(join(dir, 'd.log'), new Date(0), 'a\nb LEAKlogsecret42');
    expect(line).toBe('1970-01-01T00:00:00Z - a b ***');
    expect(await readFile(join(dir, 'd.log'), 'utf8')).toBe(`${line}\n`);
    await rm(dir, { recursive: true });
  });
});

describe('kubeconfig parsed at input time', () => {
  const base = `apiVersion: v1
clusters:
- cluster: {server: "https://k8s.example.com:6443"}
  name: prod
contexts:
- context: {cluster: prod, user: u}
  name: prod
current-context: prod
`;

  test('every credential field, block and flow, is registered', () => {
    const r = new SecretRegistry();
    readKubeconfig(
      `${base}users:
- name: u
  user:
    token: tok-block-1
    client-key-data: a2V5LWRhdGE=
    client-certificate-data: Y2VydA==
    password: pw-block-1
    client-secret: cs-block-1
    exec: {command: aws, env: [{name: AWS_SECRET, value: exec-env-1}]}
- name: f
  user: {token: tok-flow-1, password: "pw-flow-1"}
- name: o
  user:
    auth-provider:
      name: oidc
      config: {client-id: veloz, client-secret: oidc-cs-1, id-token: idt-1, refresh-token: rt-1, idp-issuer-url: "https://issuer"}
`,
      r,
      { allowAuthProviderCommands: false },
    );
    expect(r.list()).toEqual(
      expect.arrayContaining([
        'tok-block-1',
        'a2V5LWRhdGE=',
        'key-data',
        'Y2VydA==',
        'pw-block-1',
        'cs-block-1',
        'exec-env-1',
        'tok-flow-1',
        'pw-flow-1',
        'oidc-cs-1',
        'idt-1',
        'rt-1',
      ]),
    );
    expect(r.list()).not.toContain('https://issuer');
  });

  test('the lines of a kubeconfig are not secrets: only its credential fields are', () => {
    const r = new SecretRegistry();
    r.add(`${base}users:\n- name: u\n  user: {token: tok-only-1}\n`);
    expect(r.list().filter((v) => /^(clusters:|- name: u|current-context: prod)$/.test(v))).toEqual([]);
    expect(r.redact('clusters: - name: u')).toBe('clusters: - name: u');
  });

  test('malformed YAML is refused with a line number and none of its content', () => {
    const text = `${base}users:\n- name: u\n  user: {token: secret-in-broken-yaml, password: [`;
    let error: unknown;
    try {
      readKubeconfig(text, new SecretRegistry(), { allowAuthProviderCommands: false });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ParseError);
    expect((error as ParseError).expected).toMatch(/^the content of a kubeconfig file: it is not valid YAML/);
    expect((error as ParseError).expected).not.toContain('secret-in-broken-yaml');
  });

  test('auth-provider cmd-path needs allow-auth-provider-commands', () => {
    const text = `${base}users:\n- name: u\n  user:\n    auth-provider: {name: gcp, config: {cmd-path: /usr/bin/gcloud, access-token: at-1}}\n`;
    expect(() => readKubeconfig(text, new SecretRegistry(), { allowAuthProviderCommands: false })).toThrow(
      'set `allow-auth-provider-commands: true`',
    );
    const r = new SecretRegistry();
    readKubeconfig(text, r, { allowAuthProviderCommands: true });
    expect(r.list()).toContain('at-1');
  });

  test('an empty input reads $KUBECONFIG (relative paths made absolute); a path list or missing file fails', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'veloz-kc-'));
    const path = join(dir, 'config');
    await writeFile(path, `${base}users:\n- name: u\n  user: {client-key: key.pem, token: file-token-1}\n`);
    const values: Record<string, string> = {
      'allow-auth-provider-commands': 'false',
      namespace: 'veloz',
      deployment: 'veloz-engine',
      release: 'veloz',
      driver: 'helm',
    };
    const masked: string[] = [];
    const target = readTarget(new InputReader((n) => values[n] ?? ''), (s) => masked.push(s), {
      env: { KUBECONFIG: path },
    });
    expect(target.kubeconfig).toContain(`client-key: ${join(dir, 'key.pem')}`);
    expect(masked).toContain('file-token-1');
    expect(() =>
      readTarget(new InputReader((n) => values[n] ?? ''), () => {}, { env: { KUBECONFIG: `${path}:${path}` } }),
    ).toThrow('KUBECONFIG lists several files');
    expect(() =>
      readTarget(new InputReader((n) => values[n] ?? ''), () => {}, { env: { KUBECONFIG: join(dir, 'nope') } }),
    ).toThrow('cannot be read (ENOENT)');
    await rm(dir, { recursive: true });
  });
});

describe('child environment', () => {
  test('the allow-list, command-env names, never the runner or our inputs', () => {
    allowChildEnv(['VELOZ_UNIT_EXTRA']);
    const env = childEnvironment(
      { KUBECONFIG: '/tmp/k', INPUT_X: 'no', GITHUB_TOKEN: 'no' },
      {
        PATH: '/bin',
        HOME: '/root',
        LANG: 'C.UTF-8',
        VELOZ_UNIT_EXTRA: 'yes',
        'INPUT_POSTGRES-URL': 'postgres://x:y@z',
        GITHUB_TOKEN: 't',
        ACTIONS_RUNTIME_TOKEN: 'a',
        RUNNER_TEMP: tmpdir(),
        OTHER: 'o',
      },
    );
    expect(Object.keys(env).sort()).toEqual(['HOME', 'KUBECONFIG', 'LANG', 'PATH', 'VELOZ_UNIT_EXTRA']);
    expect(env.HOME).not.toBe('/root');
    expect(commandEnvNameProblem('INPUT_GITHUB-TOKEN')).toBeDefined();
    expect(commandEnvNameProblem('GITHUB_TOKEN')).toBeDefined();
    expect(commandEnvNameProblem('AWS_PROFILE')).toBeUndefined();
  });

  test('command-env refuses forbidden names as an input error', () => {
    const values: Record<string, string> = { 'command-env': 'AWS_PROFILE\nACTIONS_RUNTIME_TOKEN' };
    expect(() => readTarget(new InputReader((n) => values[n] ?? ''), () => {}, { env: {} })).toThrow(
      'Input \'command-env\' has value "ACTIONS_RUNTIME_TOKEN"',
    );
  });

  test('a command sees only the allow-list, and its output is redacted', async () => {
    secretRegistry.add('LEAKcmdsecret77');
    process.env['INPUT_POSTGRES-URL'] = 'postgres://u:LEAKcmdsecret77@h/db';
    try {
      const result = await runCommand(
        [
          process.execPath,
          '-e',
          'console.log(Object.keys(process.env).sort().join(",")); console.log(process.argv[1])',
          'LEAKcmdsecret77',
        ],
        { timeoutMs: 10_000 },
      );
      expect(result.lines[0]!.split(',')).not.toContain('INPUT_POSTGRES-URL');
      expect(result.lines[0]!.split(',')).toContain('HOME');
      expect(result.lines[1]).toBe('***');
    } finally {
      delete process.env['INPUT_POSTGRES-URL'];
    }
  });
});

describe('transport', () => {
  let hook: Recorder;
  beforeAll(async () => {
    hook = await startRecorder((req, base) =>
      req.url === '/redirect' ? { status: 302, headers: { location: `${base}/landed` } } : { status: 200 },
    );
  });
  afterAll(() => hook.stop());

  test('registry token realms: https, or the registry host itself', () => {
    expect(tokenRealm('https://auth.docker.io/token', 'https://registry-1.docker.io')).toBeInstanceOf(URL);
    expect(tokenRealm('http://127.0.0.1:5001/token', 'http://127.0.0.1:5000')).toBeInstanceOf(URL);
    expect(tokenRealm('http://evil.example.com/token', 'http://127.0.0.1:5000')).toMatch(/neither https/);
    expect(tokenRealm('http://u:p@127.0.0.1/token', 'http://127.0.0.1:5000')).toMatch(/user info/);
    expect(tokenRealm('file:///etc/passwd', 'https://r.example.com')).toMatch(/neither https/);
  });

  test('webhooks: https unless allow-insecure-webhook', () => {
    const values: Record<string, string> = {
      environment: 'production',
      'allow-insecure-webhook': 'false',
      'notify-webhook': 'http://hooks.example.com/x',
    };
    expect(() => readRecords(new InputReader((n) => values[n] ?? ''))).toThrow(
      "Input 'notify-webhook' has value ***: expected an absolute URL starting with https://",
    );
    values['allow-insecure-webhook'] = 'true';
    expect(readRecords(new InputReader((n) => values[n] ?? '')).notifyWebhook).toBe('http://hooks.example.com/x');
  });

  test('a webhook redirect is not followed, and the message is redacted and mrkdwn-escaped', async () => {
    const redirected = await postNotification(`${hook.url}/redirect`, 'hello', noSleep);
    expect(redirected.ok).toBe(false);
    expect(redirected.error).toContain('redirect, not followed');
    expect(hook.requests.map((r) => r.path)).toEqual(['/redirect']);
    secretRegistry.add('LEAKhooksecret99');
    await postNotification(`${hook.url}/ok`, 'Reason: <!channel> LEAKhooksecret99', noSleep);
    expect(JSON.parse(hook.requests[1]!.body)).toEqual({ text: 'Reason: &lt;!channel&gt; ***' });
  });
});
