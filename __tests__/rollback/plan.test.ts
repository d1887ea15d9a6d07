/**
 * The rollback target, from source against the sandbox: the newest good revision running another
 * version, never a failed one in between, and `to-revision` taken literally or refused with the list.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { connectKube, type Kube } from '@veloz/shared/kube/client';
import { readFile } from 'node:fs/promises';
import { parseRollbackInputs } from '../../actions/rollback/src/inputs';
import { NothingToRollBackToError, UnknownRevisionError, planRollback } from '../../actions/rollback/src/plan';
import { startCluster, type Cluster } from '../support/cluster';
import { inputsWithDefaults } from '../support/settings';

async function settings(values: Record<string, string> = {}) {
  return parseRollbackInputs(await inputsWithDefaults('rollback', { reason: 'test', ...values }), () => {});
}

describe('rollback target (helm driver)', () => {
  let cluster: Cluster;
  let kube: Kube;
  beforeAll(async () => {
    cluster = await startCluster();
    kube = await connectKube(await readFile(cluster.kubeconfigPath, 'utf8'));
    await cluster.install('1.0.0'); // 1
    await cluster.install('1.1.0'); // 2
  });
  afterAll(() => cluster.stop());

  test('a failed upgrade: from the failed revision back to the last good one', async () => {
    await cluster.failUpgrade('1.2.0'); // 3 failed
    const plan = await planRollback(kube, await settings());
    expect(plan.from).toMatchObject({ revision: 3, status: 'failed', image: 'veloz/engine:1.2.0' });
    expect(plan.to).toMatchObject({ revision: 2, image: 'veloz/engine:1.1.0' });
    expect(plan.latest?.status).toBe('failed');
  });

  test('a failed revision between the current and the previous good one is skipped', async () => {
    await cluster.install('1.3.0'); // 4 deployed, 3 stays failed
    const plan = await planRollback(kube, await settings());
    expect(plan.from).toMatchObject({ revision: 4, image: 'veloz/engine:1.3.0' });
    expect(plan.to).toMatchObject({ revision: 2, image: 'veloz/engine:1.1.0' });
    expect(plan.available.map((r) => r.revision)).toEqual([1, 2, 3, 4]);
  });

  test("the bad release's own canary revision is not a target: it runs the same version", async () => {
    await cluster.install('1.3.0', ['--set', 'engine.replicaCount=1']); // 5: same version, other values
    const plan = await planRollback(kube, await settings());
    expect(plan.from).toMatchObject({ revision: 5, image: 'veloz/engine:1.3.0' });
    expect(plan.to.revision).toBe(2);
  });

  test('to-revision is taken literally, older than the default target too', async () => {
    expect((await planRollback(kube, await settings({ 'to-revision': '1' }))).to).toMatchObject({
      revision: 1,
      image: 'veloz/engine:1.0.0',
    });
  });

  test('an unknown to-revision is refused with the history, like `helm history`', async () => {
    const error = await planRollback(kube, await settings({ 'to-revision': '42' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownRevisionError);
    expect((error as Error).message).toContain('Revision 42 does not exist');
    expect((error as Error).message).toMatch(/\n\s+3\s+failed\s+veloz\/engine:1\.2\.0/);
  });
});

describe('rollback target (kubectl driver)', () => {
  let cluster: Cluster;
  let kube: Kube;
  beforeAll(async () => {
    cluster = await startCluster();
    kube = await connectKube(await readFile(cluster.kubeconfigPath, 'utf8'));
    await cluster.install('1.0.0');
  });
  afterAll(() => cluster.stop());

  const setImage = async (tag: string): Promise<void> => {
    const r = await cluster.kubectl([
      'set',
      'image',
      'deployment/veloz-engine',
      `veloz-engine=veloz/engine:${tag}`,
      '-n',
      'veloz',
    ]);
    if (r.code !== 0) throw new Error(r.stderr);
    await cluster.kubectl(['rollout', 'status', 'deployment/veloz-engine', '-n', 'veloz', '--timeout=60s']);
  };

  test('the newest ReplicaSet running another image; none → a message naming to-revision', async () => {
    const none = await planRollback(kube, await settings({ driver: 'kubectl' })).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(NothingToRollBackToError);
    expect((none as Error).message).toContain('kubectl rollout history deployment/veloz-engine -n veloz');

    await setImage('1.1.0'); // revision 2
    await setImage('1.2.0'); // revision 3
    const plan = await planRollback(kube, await settings({ driver: 'kubectl' }));
    expect(plan.from).toMatchObject({ revision: 3, image: 'veloz/engine:1.2.0' });
    expect(plan.to).toMatchObject({ revision: 2, image: 'veloz/engine:1.1.0' });
    expect(plan.replicaSet?.spec?.template?.spec?.containers?.[0]?.image).toBe('veloz/engine:1.1.0');
  });

  test('to-revision picks that ReplicaSet; an unknown one lists the revisions', async () => {
    const plan = await planRollback(kube, await settings({ driver: 'kubectl', 'to-revision': '1' }));
    expect(plan.to).toMatchObject({ revision: 1, image: 'veloz/engine:1.0.0' });
    const error = await planRollback(kube, await settings({ driver: 'kubectl', 'to-revision': '9' })).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnknownRevisionError);
    expect((error as Error).message).toMatch(/Available \(like `kubectl rollout history/);
  });
});
