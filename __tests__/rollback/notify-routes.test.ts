/**
 * Runbook §5.1–5.2 through the bundle: each notification kind reaches its channel's webhook (three
 * receivers), with the escalation level and response time in the text; unset channels fall back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { InputReader } from '@veloz/shared/inputs';
import { readRecords } from '@veloz/shared/records/settings';
import { deliveriesFor, parseNotifyRoutes } from '@veloz/shared/records/routes';
import { startCluster, type Cluster } from '../support/cluster';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';

let cluster: Cluster;
let platform: WebhookReceiver;
let trading: WebhookReceiver;
let database: WebhookReceiver;
let fallback: WebhookReceiver;

beforeAll(async () => {
  [cluster, platform, trading, database, fallback] = await Promise.all([
    startCluster(),
    startWebhookReceiver(),
    startWebhookReceiver(),
    startWebhookReceiver(),
    startWebhookReceiver(),
  ]);
  await cluster.install('1.1.0');
  await cluster.install('1.2.0');
}, 120_000);

afterAll(async () => {
  await Promise.all([cluster?.stop(), platform?.stop(), trading?.stop(), database?.stop(), fallback?.stop()]);
});

afterEach(() => {
  for (const r of [platform, trading, database, fallback]) expect(r.invalid).toEqual([]);
});

/** The log without the runner's `::add-mask::` commands (which name each secret so it can mask it). */
const unmasked = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');

function rollback(inputs: Record<string, string>) {
  return runActionBundle(
    'rollback',
    {
      reason: 'error rate above 5% for 5 minutes',
      timeout: '60s',
      'allow-insecure-webhook': 'true', // the receivers are loopback http servers
      'database-restore': 'pitr',
      'recovery-time': new Date(Date.now() - 60_000).toISOString(),
      'restore-commands': '/bin/true',
      ...inputs,
    },
    { env: cluster.env, timeoutMs: 120_000 },
  );
}

describe('escalation routing (runbook §5.1–5.2)', () => {
  test('rollback → platform + trading ops, database restore → database on-call, each with its level', async () => {
    const run = await rollback({
      'notify-webhook': fallback.url,
      'notify-routes': `platform=${platform.url}\ntrading-ops=${trading.url}\ndatabase=${database.url}`,
    });
    expect(run.errors).toEqual([]);
    expect(run.exitCode).toBe(0);
    const first = (texts: string[]) => texts.map((t) => t.split('\n')[0]);
    expect(first(platform.texts())).toEqual(['ROLLBACK INITIATED', 'ROLLBACK INITIATED']);
    expect(first(trading.texts())).toEqual(['ROLLBACK INITIATED', 'ROLLBACK INITIATED']);
    expect(first(database.texts())).toEqual(['DATABASE RESTORE', 'DATABASE RESTORE']);
    expect(fallback.texts()).toEqual([]);
    expect(platform.texts()[0]).toContain(
      'Escalation: L2 Platform Engineer (#veloz-platform, PagerDuty rotation), response within 15 minutes',
    );
    expect(platform.texts()[0]).not.toContain('Trading Ops');
    expect(trading.texts()[0]).toContain('Escalation: Trading Ops (#trading-ops, @trading-ops)');
    expect(database.texts()[0]).toContain('Status: IN PROGRESS');
    expect(database.texts()[1]).toContain('Status: COMPLETE');
    expect(database.texts()[1]).toContain(
      'Escalation: L3 Database Admin (#db-oncall, @dba-oncall), response within 15 minutes',
    );
    // the route URLs are secrets: never in the log or the summary
    // (the runner's own ::add-mask:: commands carry them, so that it masks them)
    const log = unmasked(run.stdout);
    expect(run.masks.some((m) => m.includes(new URL(platform.url).pathname))).toBe(true);
    for (const r of [platform, trading, database]) {
      expect(log).not.toContain(r.url);
      expect(run.summary).not.toContain(r.url);
    }
  });

  test('unset channels fall back to notify-webhook: one message naming both escalations', async () => {
    await cluster.install('1.3.0');
    const before = { platform: platform.texts().length, database: database.texts().length };
    const run = await rollback({ 'notify-webhook': fallback.url, 'notify-routes': `database: ${database.url}\n` });
    expect(run.exitCode).toBe(0);
    expect(platform.texts()).toHaveLength(before.platform);
    const rollbacks = fallback.texts().filter((t) => t.startsWith('ROLLBACK INITIATED'));
    expect(rollbacks).toHaveLength(2);
    expect(rollbacks[0]).toContain('Escalation: L2 Platform Engineer');
    expect(rollbacks[0]).toContain('Escalation: Trading Ops');
    expect(fallback.texts().some((t) => t.startsWith('DATABASE RESTORE'))).toBe(false);
    expect(database.texts().length).toBe(before.database + 2);
  });

  test('an unknown channel is a bad input that changes nothing and never shows the URLs', async () => {
    const before = cluster.sandbox.journal.list().length;
    const run = await rollback({ 'notify-routes': `oncall=${platform.url}` });
    expect(run.exitCode).toBe(1);
    expect(run.errors).toHaveLength(1);
    expect(run.errors[0]).toContain("Input 'notify-routes'");
    expect(run.errors[0]).toContain("unknown channel 'oncall'");
    expect(unmasked(run.stdout)).not.toContain(platform.url);
    expect(cluster.sandbox.journal.list().length).toBe(before);
  });
});

describe('routes from source', () => {
  test('YAML and key=value lines read the same; deploy notices go to platform only', () => {
    const yaml = parseNotifyRoutes('platform: https://hooks.example/p\ndatabase: https://hooks.example/d');
    expect(parseNotifyRoutes('platform=https://hooks.example/p\ndatabase=https://hooks.example/d')).toEqual(yaml);
    const started = deliveriesFor('DEPLOYMENT STARTED\nService: VeloZ Production', yaml, 'https://hooks.example/f');
    expect(started.map((d) => [d.url, d.channels])).toEqual([['https://hooks.example/p', ['platform']]]);
    const complete = deliveriesFor('DEPLOYMENT COMPLETE\n', {}, 'https://hooks.example/f');
    // without routes, the one webhook gets the §5.4 text unchanged
    expect(complete).toEqual([
      { url: 'https://hooks.example/f', channels: ['platform'], text: 'DEPLOYMENT COMPLETE\n' },
    ]);
    expect(deliveriesFor('ROLLBACK INITIATED', {}, undefined)).toEqual([]);
  });

  test('a route URL follows notify-webhook’s protocol rule', () => {
    const reader = new InputReader(
      (name) =>
        ({
          environment: 'production',
          'allow-insecure-webhook': 'false',
          'notify-routes': 'platform=http://hooks.example/p',
        })[name] ?? '',
    );
    expect(() => readRecords(reader)).toThrow(/notify-routes.*a webhook URL for platform/);
  });
});
