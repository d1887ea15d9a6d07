/**
 * The record-keeping modules on their own, against the loopback GitHub double and chat receiver: the
 * double's own contract (it must reject what GitHub rejects, or its "zero violations" means nothing),
 * the deployment bookkeeping of records/github.ts, and the retry policy of records/webhook.ts.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import { runInfoFromEnv } from '@veloz/shared/action';
import type { RunInfo } from '@veloz/shared/contract';
import type { Clock } from '@veloz/shared/clock';
import { githubDeployments } from '@veloz/shared/records/github';
import { postNotification } from '@veloz/shared/records/webhook';
import { startGithubDouble, type GithubDouble } from '../support/github-double';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

const TOKEN = 'ghs_M0dulesT0kenM0dulesT0kenM0dulesT0ken';
const SHA = 'fedcba9876543210fedcba9876543210fedcba98';

let github: GithubDouble;
beforeEach(async () => {
  github = await startGithubDouble({ token: TOKEN });
});
afterEach(async () => github.stop());

function runInfo(overrides: Partial<RunInfo> = {}): RunInfo {
  return {
    ...runInfoFromEnv({ GITHUB_REPOSITORY: 'veloz/veloz', GITHUB_RUN_ID: '77', GITHUB_SHA: SHA }),
    apiUrl: github.url,
    ...overrides,
  };
}

function call(method: string, path: string, body?: unknown, auth: string | null = `token ${TOKEN}`) {
  const headers: Record<string, string> = { accept: 'application/vnd.github+json' };
  if (auth) headers.authorization = auth;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${github.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const DEPLOYMENTS = '/repos/veloz/veloz/deployments';

describe('the GitHub double holds requests to GitHub’s OpenAPI description', () => {
  test('a request GitHub would refuse gets 422 and is recorded as a violation', async () => {
    const cases: [string, string, unknown, RegExp][] = [
      ['POST', DEPLOYMENTS, { environment: 'production' }, /must have required property 'ref'/],
      ['POST', DEPLOYMENTS, { ref: SHA, payload: 42 }, /body\/payload must be object/],
      ['POST', DEPLOYMENTS, { ref: SHA, auto_inactve: true }, /must NOT have additional properties.*auto_inactve/],
      ['GET', `${DEPLOYMENTS}?per_page=many`, undefined, /query\/per_page must be integer/],
      ['GET', `${DEPLOYMENTS}?status=success`, undefined, /must NOT have additional properties.*status/],
    ];
    for (const [method, path, body, error] of cases) {
      const response = await call(method, path, body);
      expect(response.status).toBe(422);
      expect((await response.json()) as object).toMatchObject({ message: expect.stringMatching(/^Invalid request/) });
      expect(github.violations.at(-1)).toMatchObject({ kind: 'request', method });
      expect(github.violations.at(-1)?.errors.join('\n')).toMatch(error);
    }
    expect(github.violations).toHaveLength(cases.length);
    expect(github.deployments()).toEqual([]);
  });

  test('deployment statuses: the state enum, the documented 140-character description, unknown deployments', async () => {
    const created = (await (await call('POST', DEPLOYMENTS, { ref: SHA })).json()) as { id: number };
    const statuses = `${DEPLOYMENTS}/${created.id}/statuses`;
    expect((await call('POST', statuses, { state: 'done' })).status).toBe(422);
    expect(github.violations.at(-1)?.errors.join()).toMatch(/state must be equal to one of the allowed values/);
    const tooLong = await call('POST', statuses, { state: 'success', description: 'x'.repeat(141) });
    expect(tooLong.status).toBe(422);
    expect(await tooLong.json()).toMatchObject({ message: 'Validation Failed', errors: [{ field: 'description' }] });
    expect(github.violations).toHaveLength(2);

    // a deployment that does not exist is GitHub's 404, not a malformed request
    expect((await call('POST', `${DEPLOYMENTS}/999/statuses`, { state: 'success' })).status).toBe(404);
    expect(github.violations).toHaveLength(2);
    expect(github.deployments()[0]?.statuses).toEqual([]);
  });

  test('credentials: token and Bearer are accepted, a missing or wrong one is 401 and a violation', async () => {
    expect((await call('GET', DEPLOYMENTS, undefined, `Bearer ${TOKEN}`)).status).toBe(200);
    expect((await call('GET', DEPLOYMENTS)).status).toBe(200);
    expect(github.violations).toEqual([]);
    const missing = await call('GET', DEPLOYMENTS, undefined, null);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ message: 'Requires authentication' });
    const wrong = await call('GET', DEPLOYMENTS, undefined, 'token ghs_wrong');
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ message: 'Bad credentials' });
    expect(github.violations.map((v) => v.kind)).toEqual(['auth', 'auth']);
    expect(JSON.stringify(github.violations)).not.toContain('ghs_wrong');
  });

  test('endpoints and repositories it does not serve are 404 and violations', async () => {
    expect((await call('GET', `${DEPLOYMENTS}/1`)).status).toBe(404);
    expect((await call('GET', '/repos/other/repo/deployments')).status).toBe(404);
    expect(github.violations.map((v) => v.kind)).toEqual(['route', 'route']);
  });

  test('lists are newest first, filtered, and paginated with a Link header', async () => {
    for (const [ref, environment] of [
      ['a', 'production'],
      ['b', 'staging'],
      ['c', 'production'],
      ['d', 'production'],
    ]) {
      expect((await call('POST', DEPLOYMENTS, { ref, environment })).status).toBe(201);
    }
    const first = await call('GET', `${DEPLOYMENTS}?environment=production&per_page=2`);
    expect(((await first.json()) as { ref: string }[]).map((d) => d.ref)).toEqual(['d', 'c']);
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get('link') ?? '')?.[1] ?? '';
    expect(next).toContain('page=2');
    const second = await fetch(next, { headers: { authorization: `token ${TOKEN}` } });
    expect(((await second.json()) as { ref: string }[]).map((d) => d.ref)).toEqual(['a']);
    expect(second.headers.get('link')).toBeNull();
    const byRef = await call('GET', `${DEPLOYMENTS}?ref=b`);
    expect(((await byRef.json()) as { environment: string }[]).map((d) => d.environment)).toEqual(['staging']);
    expect(github.violations).toEqual([]);
  });
});

describe('records/github.ts against the double', () => {
  test('one deployment per version, ref and environment; statuses carry the run URL', async () => {
    const records = await githubDeployments(TOKEN, runInfo(), 'production');
    const payload = { version: '1.1.0', release: 'veloz', namespace: 'veloz', revision: '3' };
    const id = await records.ensure(payload, 'VeloZ 1.1.0 (canary)');
    await records.status(id, 'in_progress', 'canary of 1.1.0 started');
    expect(await records.ensure({ ...payload, revision: '4' }, 'VeloZ 1.1.0 (promote)')).toBe(id);
    await records.status(id, 'success', 'd'.repeat(300)); // cut to GitHub's 140 characters

    const staging = await githubDeployments(TOKEN, runInfo(), 'staging');
    const stagingId = await staging.ensure(payload, 'VeloZ 1.1.0 (canary)');
    expect(stagingId).not.toBe(id);

    const [deployment, other] = github.deployments();
    expect(deployment).toMatchObject({
      id,
      ref: SHA,
      environment: 'production',
      production_environment: true,
      payload,
      description: 'VeloZ 1.1.0 (canary)',
    });
    expect(other).toMatchObject({ id: stagingId, environment: 'staging', production_environment: false });
    expect(deployment?.statuses.map((s) => [s.state, s.log_url, s.description.length])).toEqual([
      ['in_progress', 'https://github.com/veloz/veloz/actions/runs/77', 23],
      ['success', 'https://github.com/veloz/veloz/actions/runs/77', 140],
    ]);
    expect(github.requests.every((r) => r.authScheme === 'token')).toBe(true);
    expect(github.violations).toEqual([]);
  });

  test('findLatest: the newest deployment of a version in the environment, whatever its ref', async () => {
    const old = await githubDeployments(TOKEN, runInfo({ sha: 'a'.repeat(40) }), 'production');
    const first = await old.ensure({ version: '1.2.0', release: 'veloz', namespace: 'veloz' }, 'first');
    const current = await githubDeployments(TOKEN, runInfo(), 'production');
    const second = await current.ensure({ version: '1.2.0', release: 'veloz', namespace: 'veloz' }, 'second');
    expect(second).not.toBe(first); // another ref is another deployment
    expect(await current.findLatest((p) => p.version === '1.2.0')).toBe(second);
    expect(await current.findLatest((p) => p.version === '9.9.9')).toBeUndefined();
    expect(github.violations).toEqual([]);
  });

  test('a GitHub API that never answers fails the call within the timeout instead of holding the deploy', async () => {
    github.stall();
    const records = await githubDeployments(TOKEN, runInfo(), 'production', 300);
    await expect(records.ensure({ version: '1.1.0', release: 'veloz', namespace: 'veloz' }, 'x')).rejects.toThrow(
      /the GitHub API did not answer GET \S+ within 0\.3 s/,
    );
    expect(github.requests.map((r) => r.status)).toEqual([0]);
  });

  test('a rejected token is an error naming GitHub’s reason, never the token', async () => {
    const records = await githubDeployments('ghs_revoked0000', runInfo(), 'production');
    const error = await records.ensure({ version: '1.1.0', release: 'veloz', namespace: 'veloz' }, 'x').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/Bad credentials/);
    expect(JSON.stringify({ message: error?.message, stack: error?.stack })).not.toContain('ghs_revoked0000');
    expect(github.violations.map((v) => v.kind)).toEqual(['auth']);
  });
});

describe('records/webhook.ts against the chat receiver', () => {
  let chat: WebhookReceiver;
  let sleeps: number[];
  // retries back off through the injected clock: record the waits, do not spend them
  const clock: Clock = { now: () => Date.now(), sleep: async (ms) => void sleeps.push(ms) };
  beforeEach(async () => {
    chat = await startWebhookReceiver();
    sleeps = [];
  });
  afterEach(async () => chat.stop());

  test('posts a Slack message ({"text": …} as JSON)', async () => {
    expect(await postNotification(chat.url, 'DEPLOYMENT STARTED\nVersion: v1.1.0', clock)).toEqual({
      ok: true,
      attempts: 1,
    });
    expect(chat.texts()).toEqual(['DEPLOYMENT STARTED\nVersion: v1.1.0']);
    expect(chat.invalid).toEqual([]);
  });

  test('5xx and 429 are retried with backoff', async () => {
    chat.failNext(2);
    expect(await postNotification(chat.url, 'one', clock)).toEqual({ ok: true, attempts: 3 });
    chat.failNext(1, 429);
    expect(await postNotification(chat.url, 'two', clock)).toEqual({ ok: true, attempts: 2 });
    expect(chat.requests.map((r) => r.status)).toEqual([500, 500, 200, 429, 200]);
    expect(sleeps).toEqual([500, 1000, 500]);
    expect(chat.texts()).toEqual(['one', 'two']);
  });

  test('an outage gives up after the attempts; a deleted webhook (404) is not retried; never throws', async () => {
    chat.failAlways(500);
    expect(await postNotification(chat.url, 'x', clock)).toEqual({
      ok: false,
      attempts: 3,
      error: 'the webhook answered 500 Internal Server Error',
    });
    chat.failAlways(404);
    expect(await postNotification(chat.url, 'x', clock)).toEqual({
      ok: false,
      attempts: 1,
      error: 'the webhook answered 404 Not Found',
    });
    expect(chat.texts()).toEqual([]);
  });

  test('an unreachable webhook is reported without its (secret) URL', async () => {
    const url = chat.url;
    await chat.stop();
    const result = await postNotification(url, 'x', clock);
    expect(result).toMatchObject({ ok: false, attempts: 3 });
    expect(result.error).toMatch(/^the webhook could not be reached/);
    expect(result.error).not.toContain(new URL(url).pathname);
    chat = await startWebhookReceiver(); // for afterEach
  });
});
