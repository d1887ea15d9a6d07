/** Exit codes from a terminal: 0 for a passing validation, 3 when the §4.1 verdict is rollback. */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { parseDegrade } from '../../packages/sandbox/src/engine/index';
import { startCluster, type Cluster } from '../support/cluster';
import { runCli } from './run-cli';

let cluster: Cluster;
let pod: string;

beforeAll(async () => {
  cluster = await startCluster({ engineSyntheticRps: 400 });
  await cluster.install('1.1.0');
  pod = String(
    (cluster.sandbox.list('pods', 'veloz', 'app.kubernetes.io/name=veloz')[0]!.metadata as { name: string }).name,
  );
}, 120_000);
afterAll(async () => cluster?.stop());

const FAST = [
  '--sse-timeout',
  '2s',
  '--websocket-timeout',
  '2s',
  '--check-timeout',
  '5s',
  '--checks',
  'health, metrics',
];

test('a healthy pod: exit 0, verdict pass in the report', async () => {
  const run = await runCli(['validate', '--pod', pod, ...FAST, '--json'], cluster.env);
  expect(run.code).toBe(0);
  expect(JSON.parse(run.stdout)).toMatchObject({ action: 'validate', status: 'success' });
}, 120_000);

test('error rate above 5% sustained: exit 3, the verdict and its evidence in the text report', async () => {
  cluster.sandbox.engineOf('veloz', pod)!.setBehaviour(parseDegrade({ 'error-rate': '6%' }));
  const run = await runCli(
    ['validate', '--pod', pod, ...FAST, '--duration', '60s', '--interval', '1s', '--rollback-error-rate-for', '10s'],
    cluster.env,
  );
  expect(run.code).toBe(3);
  expect(run.stdout).toMatch(/Error rate above 5% for 10s: errors \d+ of [\d,]+ requests/);
}, 180_000);
