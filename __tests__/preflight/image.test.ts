import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  imageCheck,
  parseChallenge,
  parseImageRepository,
  type ImageCheckSettings,
} from '../../actions/preflight/src/checks/image';
import { startRegistry, type TestRegistry } from '@veloz/harness/servers/registry';
import { freePort } from '@veloz/harness/servers/server-process';
import { expectNoStack, outcomeText, runCheck, silentServer } from './helpers';

const NAME = 'veloz/veloz-engine';

describe('image references and challenges', () => {
  test('registry host rules follow docker normalization', () => {
    expect(parseImageRepository('veloz/veloz-engine')).toEqual({
      registry: 'docker.io',
      apiHost: 'registry-1.docker.io',
      name: 'veloz/veloz-engine',
    });
    expect(parseImageRepository('nginx')).toEqual({
      registry: 'docker.io',
      apiHost: 'registry-1.docker.io',
      name: 'library/nginx',
    });
    expect(parseImageRepository('index.docker.io/nginx').name).toBe('library/nginx');
    expect(parseImageRepository('registry.example.com/veloz/veloz-engine')).toEqual({
      registry: 'registry.example.com',
      apiHost: 'registry.example.com',
      name: 'veloz/veloz-engine',
    });
    expect(parseImageRepository('127.0.0.1:5000/veloz/veloz-engine').apiHost).toBe('127.0.0.1:5000');
    expect(parseImageRepository('localhost/veloz').registry).toBe('localhost');
    expect(() => parseImageRepository('veloz/veloz-engine:1.1.0')).toThrow(/must not include a tag/);
    expect(() => parseImageRepository('Veloz/Engine')).toThrow(/not a valid path component/);
  });

  test('WWW-Authenticate challenges parse with quoted values', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:veloz/veloz-engine:pull"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.example.com/token',
        service: 'registry.example.com',
        scope: 'repository:veloz/veloz-engine:pull',
      },
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({
      scheme: 'basic',
      params: { realm: 'Registry Realm' },
    });
  });
});

describe('image check against real registries (no auth, htpasswd Basic, Bearer token)', () => {
  let open: TestRegistry;
  let basic: TestRegistry;
  let token: TestRegistry;
  const settings = (r: TestRegistry, over: Partial<ImageCheckSettings> = {}): ImageCheckSettings => ({
    repository: `${r.host}/${NAME}`,
    tag: '1.1.0',
    timeoutMs: 10_000,
    ...over,
  });

  beforeAll(async () => {
    [open, basic, token] = await Promise.all([
      startRegistry(),
      startRegistry({ auth: 'basic' }),
      startRegistry({ auth: 'token' }),
    ]);
    await Promise.all([open, basic, token].map((r) => r.pushImage(NAME, '1.1.0')));
  });
  afterAll(async () => {
    await Promise.all([open, basic, token].map((r) => r?.stop()));
  });

  test('an existing image passes and reports its digest', async () => {
    const digest = await open.pushImage(NAME, '1.2.0');
    const o = await runCheck(imageCheck(settings(open, { tag: '1.2.0' })));
    expect(o.status).toBe('pass');
    expect(o.observed).toBe(`${open.host}/${NAME}:1.2.0 ${digest}`);
    expect(o.data).toMatchObject({
      digest,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      auth: 'anonymous',
    });
  });

  test('a deleted image fails with the command to confirm it', async () => {
    await open.pushImage(NAME, '0.9.0');
    expect((await runCheck(imageCheck(settings(open, { tag: '0.9.0' })))).status).toBe('pass');
    await open.deleteImage(NAME, '0.9.0');
    const o = await runCheck(imageCheck(settings(open, { tag: '0.9.0' })));
    expect(o.status).toBe('fail');
    expect(o.observed).toBe(`${open.host}/${NAME}:0.9.0 not found (404)`);
    expect(o.detail).toMatch(/docker manifest inspect/);
  });

  test('a version never pushed fails', async () => {
    const o = await runCheck(imageCheck(settings(open, { tag: '9.9.9' })));
    expect(o.status).toBe('fail');
    expect(o.observed).toMatch(/not found \(404\)/);
  });

  test('Basic auth: credentials pass, none or wrong ones fail clearly, the password never shows', async () => {
    const ok = await runCheck(imageCheck(settings(basic, { username: basic.username, password: basic.password })));
    expect(ok.status).toBe('pass');
    expect(ok.data?.auth).toBe(`basic as ${basic.username}`);

    const none = await runCheck(imageCheck(settings(basic)));
    expect(none.status).toBe('fail');
    expect(none.observed).toBe(`${basic.host} requires credentials`);

    const wrong = await runCheck(imageCheck(settings(basic, { username: basic.username, password: 'wrong-password' })));
    expect(wrong.status).toBe('fail');
    expect(wrong.observed).toMatch(/unauthorized \(401/);
    expect(outcomeText(wrong)).not.toContain('wrong-password');
    expect(outcomeText(ok)).not.toContain(basic.password);
  });

  test('Bearer token flow: realm, service and pull scope; credentials go to the token service', async () => {
    const ok = await runCheck(imageCheck(settings(token, { username: token.username, password: token.password })));
    expect(ok.status).toBe('pass');
    expect(ok.data?.auth).toBe(`bearer token as ${token.username}`);
    expect(token.tokenRequests).toContainEqual({
      scope: `repository:${NAME}:pull`,
      service: 'veloz-test-registry',
      authenticated: true,
    });

    // Anonymous token without access: the registry still says 401.
    const anonymous = await runCheck(imageCheck(settings(token)));
    expect(anonymous.status).toBe('fail');
    expect(anonymous.detail).toMatch(/requires credentials/);

    const wrong = await runCheck(imageCheck(settings(token, { username: token.username, password: 'nope-nope' })));
    expect(wrong.status).toBe('fail');
    expect(wrong.observed).toBe('token service refused the credentials (401)');
    expect(outcomeText(wrong)).not.toContain('nope-nope');

    await token.deleteImage(NAME, '1.1.0');
    const gone = await runCheck(imageCheck(settings(token, { username: token.username, password: token.password })));
    expect(gone.status).toBe('fail');
    expect(gone.observed).toMatch(/not found \(404\)/);
  });
});

describe('image check: registry down or hanging', () => {
  test('nothing listening: host, port, code and hint', async () => {
    const port = await freePort();
    const o = await runCheck(imageCheck({ repository: `127.0.0.1:${port}/${NAME}`, tag: '1.1.0', timeoutMs: 5000 }));
    expect(o.status).toBe('fail');
    expect(o.observed).toBe(`cannot reach 127.0.0.1:${port} (ECONNREFUSED)`);
    expect(o.detail).toMatch(/ECONNREFUSED — nothing is listening there/);
    expectNoStack(o);
  });

  test('a registry that never answers: the check stops when its signal aborts', async () => {
    const silent = await silentServer();
    try {
      const o = await runCheck(
        imageCheck({ repository: `127.0.0.1:${silent.port}/${NAME}`, tag: '1.1.0', timeoutMs: 60_000 }),
        { abortAfterMs: 300 },
      );
      expect(o.status).toBe('fail');
      expect(o.detail).toMatch(/the check was cancelled/);
      expectNoStack(o);
    } finally {
      await silent.close();
    }
  });
});
