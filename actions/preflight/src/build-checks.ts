/** How each of preflight's checks (registry.ts) is built from the settings and the open clients. */
import { describeError, type Check } from '@veloz/shared/checks';
import type { Clock } from '@veloz/shared/clock';
import { postgresCheck } from '@veloz/shared/data-tier/postgres';
import { redisCheck } from '@veloz/shared/data-tier/redis';
import type { Kube } from '@veloz/shared/kube/client';
import { backupCheck } from './checks/backup';
import { capacityCheck } from './checks/capacity';
import { ciCheck } from './checks/ci';
import { clusterCheck } from './checks/cluster';
import type { GithubRepo } from './checks/github-repo';
import { imageCheck } from './checks/image';
import { migrationCheck } from './checks/migration';
import { monitoringCheck } from './checks/monitoring';
import { networkPolicyCheck } from './checks/network-policy';
import { noticeCheck } from './checks/notice';
import { rbacCheck } from './checks/rbac';
import { rejectedCheck } from './checks/rejected';
import { releaseCheck } from './checks/release';
import { releaseNotesCheck } from './checks/release-notes';
import { reviewsCheck } from './checks/reviews';
import { securityCheck } from './checks/security';
import { windowCheck } from './checks/window';
import type { PreflightSettings } from './inputs';
import { entryOf, type ChecklistCheckName } from './registry';

export interface Clients {
  kube?: Kube;
  kubeError: unknown;
  gh?: GithubRepo;
}

/** What a builder gets: a check is selected only when its inputs are set, so their `!` holds. */
interface Parts {
  s: Readonly<PreflightSettings>;
  kube: Kube;
  gh?: GithubRepo;
  clock: Clock;
  timeoutMs: number;
}

const BUILDERS: Record<ChecklistCheckName, (p: Parts) => Check> = {
  ci: ({ s, gh, timeoutMs }) => ciCheck(gh!, s.readiness.github!.requiredChecks, timeoutMs),
  reviews: ({ s, gh, timeoutMs }) => reviewsCheck(gh!, s.readiness.github!.minApprovals, timeoutMs),
  security: ({ s, gh, timeoutMs }) => securityCheck(gh!, s.readiness.github!.maxSeverity, timeoutMs),
  'release-notes': ({ s, gh, timeoutMs }) =>
    releaseNotesCheck({ version: s.version!, gh, path: s.readiness.releaseNotesPath, timeoutMs }),
  cluster: ({ s, kube, timeoutMs }) => clusterCheck(kube, s.target, timeoutMs),
  capacity: ({ s, kube, timeoutMs }) => capacityCheck(kube, s.target, s.replicas, timeoutMs),
  release: ({ s, kube, timeoutMs }) => releaseCheck(kube, s.target, timeoutMs),
  rejected: ({ s, kube, gh, timeoutMs }) =>
    rejectedCheck({
      kube,
      gh,
      target: s.target,
      version: s.version!,
      overrideReason: s.window.overrideReason,
      timeoutMs,
    }),
  rbac: ({ s, kube, timeoutMs }) =>
    rbacCheck({ kube, namespace: s.target.namespace, stage: s.credentialStage, names: s.target, timeoutMs }),
  image: ({ s, timeoutMs }) => imageCheck({ ...s.image!, tag: s.image!.version, timeoutMs }),
  postgres: ({ s, timeoutMs }) => postgresCheck({ ...s.postgres!, connections: s.postgres!.sessions, timeoutMs }),
  migration: ({ s, timeoutMs }) =>
    migrationCheck({ url: s.postgres!.url, query: s.postgres!.migrationQuery!, timeoutMs }),
  redis: ({ s, timeoutMs }) =>
    redisCheck({
      sentinels: s.redis!.sentinels,
      masterName: s.redis!.master,
      password: s.redis!.password,
      minReplicas: s.redis!.minReplicas,
      timeoutMs,
    }),
  'network-policy': ({ s, kube, timeoutMs }) => networkPolicyCheck(kube, s.target, timeoutMs),
  backup: ({ s, timeoutMs }) =>
    backupCheck({ maxAgeMs: s.backup.maxAgeMs, verifyCommand: s.backup.verifyCommand, path: s.backup.path, timeoutMs }),
  monitoring: ({ s, timeoutMs }) => monitoringCheck(s.readiness.monitoring, timeoutMs),
  window: ({ s, clock, timeoutMs }) => {
    const check = windowCheck({ policy: s.window.policy, overrideReason: s.window.overrideReason, timeoutMs });
    const at = s.window.evaluateAt?.getTime();
    // Rehearsal: evaluate the window at the given time instead of now.
    return at === undefined
      ? check
      : { ...check, run: (ctx) => check.run({ ...ctx, clock: { ...clock, now: () => at } }) };
  },
  notice: ({ s, gh, timeoutMs }) =>
    noticeCheck({
      gh: gh!,
      version: s.version!,
      hours: s.readiness.github!.noticeHours,
      label: s.readiness.github!.noticeLabel,
      overrideReason: s.window.overrideReason,
      timeoutMs,
    }),
};

export function buildCheck(name: ChecklistCheckName, s: Readonly<PreflightSettings>, c: Clients, clock: Clock): Check {
  if (entryOf(name).client === 'kube' && !c.kube) return unreachable(name, c.kubeError);
  return BUILDERS[name]({ s, kube: c.kube!, gh: c.gh, clock, timeoutMs: s.checkTimeoutMs });
}

function unreachable(name: ChecklistCheckName, error: unknown): Check {
  return {
    name,
    title: name,
    timeoutMs: 1000,
    run: async () => ({
      status: 'fail',
      observed: 'no cluster connection',
      detail: `Could not connect to Kubernetes: ${describeError(error)}`,
    }),
  };
}
