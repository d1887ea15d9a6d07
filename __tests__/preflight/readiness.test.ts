/**
 * The §1.1 items preflight checks outside GitHub, against real parts: a NetworkPolicy applied with the
 * real kubectl into the sandbox, then the network-policy check; a real Prometheus loading rule files that
 * promtool accepted, then the monitoring check; and the whole checklist through the preflight bundle
 * (GitHub double, chat and status-page receivers), with the eighteen items in the summary.
 */
import type { TargetSettings } from '@veloz/shared/target';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { runActionBundle } from '@veloz/harness';
import { connectKube, type Kube } from '@veloz/shared/kube/client';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CHECKLIST } from '../../actions/preflight/src/checklist';
import { monitoringCheck } from '../../actions/preflight/src/checks/monitoring';
import { networkPolicyCheck } from '../../actions/preflight/src/checks/network-policy';
import { startCluster, type Cluster } from '../support/cluster';
import { startGithubDouble, type GithubDouble } from '../support/github-double';
import { startPrometheus, type Prometheus } from '@veloz/harness/servers/prometheus';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver';
import { runCheck } from './helpers';

const execFileAsync = promisify(execFile);
const TARGET: TargetSettings = {
  namespace: 'veloz',
  deployment: 'veloz-engine',
  release: 'veloz',
  driver: 'helm',
  commandEnv: [],
};
const RULES = `groups:
  - name: veloz-engine
    rules:
      - alert: VelozHighErrorRate
        expr: sum(rate(veloz_http_requests_total{status=~"5.."}[5m])) / sum(rate(veloz_http_requests_total[5m])) > 0.05
        for: 5m
        labels: { severity: critical }
      - alert: VelozP99LatencyHigh
        expr: histogram_quantile(0.99, sum by (le) (rate(veloz_http_request_duration_seconds_bucket[5m]))) > 0.1
        for: 5m
`;

let cluster: Cluster;
let kube: Kube;
let prometheus: Prometheus;
let dir: string;
let site: { url: string; server: Server };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'veloz-readiness-'));
  const rules = join(dir, 'veloz.rules.yml');
  await writeFile(rules, RULES);
  const checked = await execFileAsync('promtool', ['check', 'rules', rules], { timeout: 30_000 });
  expect(checked.stdout).toContain('SUCCESS: 2 rules found');
  [cluster, prometheus, site] = await Promise.all([
    startCluster(),
    startPrometheus({ ruleFiles: [rules] }),
    startSite(),
  ]);
  await cluster.install('1.1.0');
  kube = await connectKube(await readFile(cluster.kubeconfigPath, 'utf8'));
}, 120_000);
afterAll(async () => {
  await Promise.all([cluster?.stop(), prometheus?.stop(), new Promise((r) => site?.server.close(r))]);
  await rm(dir, { recursive: true, force: true });
});

/** Dashboards and the DR runbook: 200 with the right bearer token, 401 without, 404 elsewhere. */
async function startSite(): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (req.url === '/runbooks/dr') return res.writeHead(200).end('DR runbook');
    if (!req.url?.startsWith('/d/')) return res.writeHead(404).end();
    res.writeHead(req.headers.authorization === 'Bearer dash-s3cret-t0ken' ? 200 : 401).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function policy(name: string, matchLabels: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, namespace: 'veloz' },
    spec: {
      podSelector: { matchLabels },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'veloz-gateway' } } }], ports: [{ port: 8080 }] }],
    },
  });
}

async function kubectlApply(name: string, text: string): Promise<void> {
  const file = join(dir, `${name}.json`);
  await writeFile(file, text);
  const r = await cluster.kubectl(['apply', '-f', file]);
  expect([r.code, r.stderr]).toEqual([0, '']);
  expect(r.stdout).toContain(`networkpolicy.networking.k8s.io/${name} created`);
}

describe('network-policy', () => {
  test('fails with no policy, and with one for other pods; passes once kubectl applies one for the engine', async () => {
    const check = () => runCheck(networkPolicyCheck(kube, TARGET, 10_000));
    const none = await check();
    expect([none.status, none.observed]).toEqual(['fail', '0 of 0 NetworkPolicies select the engine pods']);
    expect(none.detail).toContain('kubectl get networkpolicy -n veloz');

    await kubectlApply('gateway-only', policy('gateway-only', { app: 'veloz-gateway' }));
    expect((await check()).observed).toBe('0 of 1 NetworkPolicies select the engine pods');

    const labels = (await kube.apps.readNamespacedDeployment({ name: 'veloz-engine', namespace: 'veloz' })).spec!
      .template.metadata!.labels!;
    await kubectlApply('engine-ingress', policy('engine-ingress', labels));
    const listed = await cluster.kubectl(['get', 'networkpolicy', '-n', 'veloz', '-o', 'name']);
    expect(listed.stdout.trim().split('\n').sort()).toEqual([
      'networkpolicy.networking.k8s.io/engine-ingress',
      'networkpolicy.networking.k8s.io/gateway-only',
    ]);
    const good = await check();
    expect(good.status).toBe('pass');
    expect(good.observed).toBe('1 of 2 NetworkPolicies select the engine pods: engine-ingress (Ingress)');
  });
});

describe('monitoring against a real Prometheus', () => {
  const check = (alertRules: string[], extra = {}) =>
    runCheck(monitoringCheck({ prometheusUrl: prometheus.url, alertRules, dashboardUrls: [], ...extra }, 10_000));

  test('loaded rules pass, by name and by the veloz_ default', async () => {
    const named = await check(['VelozHighErrorRate', 'VelozP99LatencyHigh']);
    expect([named.status, named.observed]).toEqual(['pass', '2 engine alerting rules loaded']);
    expect((await check([])).status).toBe('pass');
  });

  test('a missing rule fails naming it', async () => {
    const o = await check(['VelozHighErrorRate', 'VelozOrderRejectsHigh']);
    expect(o.status).toBe('fail');
    expect(o.detail).toContain('Alerting rules not loaded in Prometheus: VelozOrderRejectsHigh');
    expect(o.data).toMatchObject({ rules: 'fail' });
  });

  test('dashboards need the bearer token; the DR runbook must answer', async () => {
    const dashboards = { dashboardUrls: [`${site.url}/d/engine?orgId=1`], drRunbookUrl: `${site.url}/runbooks/dr` };
    const withToken = await check([], { ...dashboards, dashboardToken: 'dash-s3cret-t0ken' });
    expect(withToken.data).toEqual({ rules: 'pass', dashboards: 'pass', runbook: 'pass' });
    const without = await check([], { ...dashboards, drRunbookUrl: `${site.url}/runbooks/gone` });
    expect(without.status).toBe('fail');
    expect(without.detail).toContain(`Dashboard not accessible: ${site.url}/d/engine (HTTP 401)`);
    expect(without.detail).toContain(`DR runbook not accessible: ${site.url}/runbooks/gone (HTTP 404)`);
  });
});

describe('the §1.1 checklist through the preflight bundle', () => {
  const TOKEN = 'ghs_BundleT0kenBundleT0kenBundleT0ken0001';
  const SHA = '0123456789abcdef0123456789abcdef01234567';
  let github: GithubDouble;
  let chat: WebhookReceiver;
  let statusPage: WebhookReceiver;
  beforeAll(async () => {
    [github, chat, statusPage] = await Promise.all([
      startGithubDouble({ token: TOKEN }),
      startWebhookReceiver(),
      startWebhookReceiver(),
    ]);
    Object.assign(github.state, {
      checkRuns: [{ sha: SHA, name: 'benchmarks', status: 'completed', conclusion: 'success' }],
      statuses: [{ sha: SHA, context: 'ci/test', state: 'success' }],
      pulls: [
        {
          number: 5,
          author: 'alice',
          shas: [SHA],
          merged: true,
          reviews: [
            { user: 'bob', state: 'APPROVED' },
            { user: 'carol', state: 'APPROVED' },
          ],
        },
      ],
      releases: [{ tag: 'v1.1.0', body: 'Faster order routing.' }],
      issues: [
        {
          number: 3,
          title: 'Deploy 1.1.0',
          labels: ['deploy-notice'],
          createdAt: new Date(Date.now() - 30 * 3_600_000),
        },
      ],
    });
    // this test does not rely on the network-policy test having run first
    const deployment = await kube.apps.readNamespacedDeployment({ name: 'veloz-engine', namespace: 'veloz' });
    cluster.sandbox.apply(JSON.parse(policy('engine-e2e', deployment.spec!.template.metadata!.labels!)) as never);
  });
  afterAll(async () => Promise.all([github?.stop(), chat?.stop(), statusPage?.stop()]));

  test('every item decided; on-call and the status page told; no secret leaves the process', async () => {
    const run = await runActionBundle(
      'preflight',
      {
        checks: 'auto',
        version: '1.1.0',
        'evaluate-at': '2026-11-24T11:00:00Z',
        'github-token': TOKEN,
        'required-checks': 'benchmarks\nci/test',
        'prometheus-url': prometheus.url,
        'dashboard-urls': `${site.url}/d/engine`,
        'dashboard-token': 'dash-s3cret-t0ken',
        'dr-runbook-url': `${site.url}/runbooks/dr`,
        'notify-webhook': chat.url,
        'status-page-webhook': statusPage.url,
      },
      { env: { ...cluster.env, GITHUB_API_URL: github.url }, timeoutMs: 120_000 },
    );
    expect(run.errors).toEqual([]);
    expect([run.exitCode, run.stderr.slice(-2000)]).toEqual([0, '']);
    expect(github.violations).toEqual([]);
    const titles = ['CI on the release commit', 'Code review', 'Security alerts', 'Release notes', 'Network policies'];
    for (const title of [...titles, 'Monitoring readiness', 'Advance notice'])
      expect([title, run.summary.includes(`| ${title} | ✅ pass |`)]).toEqual([title, true]);
    expect(run.summary).toContain(`Runbook §1.1 checklist: `);
    for (const item of CHECKLIST)
      expect(run.summary).toContain(`| ${item.group} | ${item.text.replace('<', '&lt;')} |`);
    // unconfigured here: postgres, redis, backup — shown with the input that would check them
    expect(run.summary).toContain(
      '| Infrastructure | Database connections verified | ◻️ not checked | set `postgres-url` |',
    );
    expect(run.summary).toContain(
      '| Monitoring | On-call engineer notified | ✅ done | preflight posted to `notify-webhook` |',
    );
    expect(chat.texts()).toHaveLength(1);
    expect(chat.texts()[0]).toMatch(/^DEPLOYMENT STARTED\nService: VeloZ Production\nVersion: v1\.1\.0\n/);
    expect(JSON.parse(statusPage.requests[0]!.body)).toMatchObject({ maintenance: { status: 'scheduled' } });
    // the runner's mask commands name them, on purpose; nothing else may
    const stdout = run.stdout.replace(/^::add-mask::.*$/gm, '');
    expect(run.masks).toEqual(expect.arrayContaining([TOKEN, 'dash-s3cret-t0ken']));
    const everything = `${stdout}${run.stderr}${run.summary}${JSON.stringify(run.outputs)}`;
    for (const secret of [TOKEN, 'dash-s3cret-t0ken', chat.url, statusPage.url])
      expect(everything).not.toContain(secret);
  });

  test('notify-routes: DEPLOYMENT STARTED goes to the §5.1 platform channel with its escalation, not to notify-webhook', async () => {
    const platform = await startWebhookReceiver();
    const chatBefore = chat.texts().length;
    try {
      const run = await runActionBundle(
        'preflight',
        {
          checks: 'window',
          version: '1.1.0',
          'evaluate-at': '2026-11-24T11:00:00Z',
          'notify-webhook': chat.url,
          'notify-routes': `platform=${platform.url}\ndatabase=${chat.url}`,
        },
        { env: cluster.env, timeoutMs: 120_000 },
      );
      expect(run.errors).toEqual([]);
      expect(platform.texts()).toHaveLength(1);
      expect(platform.texts()[0]).toMatch(/^DEPLOYMENT STARTED\nService: VeloZ Production\nVersion: v1\.1\.0\n/);
      expect(platform.texts()[0]).toContain(
        'Escalation: L2 Platform Engineer (#veloz-platform, PagerDuty rotation), response within 15 minutes',
      );
      expect(chat.texts()).toHaveLength(chatBefore);
      expect(run.summary).toContain(
        '| Monitoring | On-call engineer notified | ✅ done | preflight posted to `notify-routes` (platform) |',
      );
      const everything = `${run.stdout.replace(/^::add-mask::.*$/gm, '')}${run.stderr}${run.summary}${JSON.stringify(run.outputs)}`;
      for (const secret of [platform.url, chat.url]) expect(everything).not.toContain(secret);
    } finally {
      await platform.stop();
    }
  });
});
