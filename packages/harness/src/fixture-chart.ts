/**
 * The fixture chart and the helm command lines an operator runs against it: shared by the end-to-end
 * tests, the bench and the demo, so all three deploy the same thing the same way.
 */
import type { Sandbox } from '@veloz/sandbox';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from './index';

export const CHART = resolve(REPO_ROOT, '__tests__/fixtures/chart/veloz');
export const VALUES_PRODUCTION = join(CHART, 'values-production.yaml');

/** The user a preemptable canary runs as: the journal tells its requests from the rollback's. */
export const CANARY_USER = 'canary-runner';

/**
 * Canary inputs for a run a rollback can preempt mid-rollout: it runs as CANARY_USER and deploys
 * 1.3.0, whose pods become Ready only after `readyAfter`, so helm sits in pending-upgrade meanwhile.
 */
export function preemptableCanary(sandbox: Sandbox, readyAfter: string, extra: Record<string, string> = {}) {
  sandbox.addToken('canary-token', CANARY_USER);
  sandbox.setProfile('veloz/engine:1.3.0', `healthy:start=${readyAfter}`);
  return {
    version: '1.3.0',
    chart: CHART,
    'values-files': VALUES_PRODUCTION,
    phase: 'canary',
    strategy: 'in-place',
    kubeconfig: sandbox.kubeconfig.replaceAll(sandbox.token, 'canary-token'),
    ...extra,
  };
}
export const IMAGE = 'veloz/engine';

export type HelmTool = 'helm3' | 'helm4';

/** `helm upgrade` of the fixture chart to a version, as an operator runs it (tests and bench alike). */
export function upgradeArgv(version: string, extra: string[], timeout: string, install = false): string[] {
  return [
    'upgrade',
    ...(install ? ['--install'] : []),
    'veloz',
    CHART,
    '-n',
    'veloz',
    '-f',
    VALUES_PRODUCTION,
    '--set-string',
    `engine.image.tag=${version}`,
    ...extra,
    '--wait',
    '--timeout',
    timeout,
  ];
}
