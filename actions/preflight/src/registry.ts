/**
 * Preflight's checks, in runbook §1 order (the summary lists them so): what each runs on, which inputs
 * it needs and whether they are set. inputs.ts selects from it (`checks: auto`), run.ts opens clients
 * and builds from it, and the §1.1 checklist names the inputs that would decide an item from it.
 * How each is built lives in build-checks.ts, keyed by these names, so that reading inputs never
 * loads a check's modules (the GitHub client, pg, the Kubernetes client).
 */
import type { SentinelInputs } from '@veloz/shared/data-tier/inputs';
import type { ReadinessSettings } from './readiness-inputs';

/** The configuration the checks' needs are judged on: the parsed inputs, before selection. */
interface Configured {
  repository?: string;
  version?: string;
  postgres?: { migrationQuery?: string };
  backup: { verifyCommand?: string[]; path?: string };
  redis?: SentinelInputs;
  snapshot: { commands: string[][] };
  readiness: ReadinessSettings;
}

interface PreflightCheckEntry {
  name: string;
  /** The client it runs on, opened once for every selected check that needs it. */
  client?: 'kube' | 'github';
  /** The inputs it needs, as "set …" messages and the §1.1 checklist name them. */
  needs?: string;
  /** Whether those inputs are set; absent: it always can run. */
  configured?(c: Configured): boolean;
  /** Taken after the checklist, only when it passed (the snapshot is a change, not a check). */
  afterChecklist?: true;
}

const github = (c: Configured): boolean => Boolean(c.readiness.github);

const PREFLIGHT_REGISTRY = [
  { name: 'ci', client: 'github', needs: '`github-token`', configured: github },
  { name: 'reviews', client: 'github', needs: '`github-token`', configured: github },
  { name: 'security', client: 'github', needs: '`github-token`', configured: github },
  {
    name: 'release-notes',
    client: 'github',
    needs: '`version` and `github-token` or `release-notes-path`',
    configured: (c) => Boolean((c.readiness.github || c.readiness.releaseNotesPath) && c.version),
  },
  { name: 'cluster', client: 'kube' },
  { name: 'capacity', client: 'kube' },
  { name: 'release', client: 'kube' },
  { name: 'rejected', client: 'kube', needs: '`version`', configured: (c) => Boolean(c.version) },
  { name: 'rbac', client: 'kube' },
  { name: 'image', needs: '`image` and `version`', configured: (c) => Boolean(c.repository && c.version) },
  { name: 'postgres', needs: '`postgres-url`', configured: (c) => Boolean(c.postgres) },
  {
    name: 'migration',
    needs: '`postgres-url` and `migration-version-query`',
    configured: (c) => Boolean(c.postgres?.migrationQuery),
  },
  { name: 'redis', needs: '`sentinel-addresses`', configured: (c) => Boolean(c.redis) },
  { name: 'network-policy', client: 'kube' },
  {
    name: 'backup',
    needs: '`backup-verify-command` or `backup-path`',
    configured: (c) => Boolean(c.backup.verifyCommand || c.backup.path),
  },
  {
    name: 'monitoring',
    needs: '`prometheus-url`, `dashboard-urls` or `dr-runbook-url`',
    configured: ({ readiness: { monitoring: m } }) =>
      Boolean(m.prometheusUrl || m.dashboardUrls.length > 0 || m.drRunbookUrl),
  },
  { name: 'window' },
  {
    name: 'notice',
    client: 'github',
    needs: '`github-token` and `version`',
    configured: (c) => Boolean(c.readiness.github && c.version),
  },
  {
    name: 'snapshot',
    needs: '`snapshot-commands`',
    configured: (c) => c.snapshot.commands.length > 0,
    afterChecklist: true,
  },
] as const satisfies readonly PreflightCheckEntry[];

export type PreflightCheckName = (typeof PREFLIGHT_REGISTRY)[number]['name'];

/** The checks of the checklist proper (all but what runs after it). */
export type ChecklistCheckName = Exclude<
  PreflightCheckName,
  Extract<(typeof PREFLIGHT_REGISTRY)[number], { afterChecklist: true }>['name']
>;

export const PREFLIGHT_CHECKS: readonly PreflightCheckName[] = PREFLIGHT_REGISTRY.map((e) => e.name);

export function entryOf(name: PreflightCheckName): PreflightCheckEntry {
  return PREFLIGHT_REGISTRY.find((e) => e.name === name)!;
}

/** What a check named in `checks` still needs, or undefined when it can run (`auto` keeps those). */
export function missingConfig(name: PreflightCheckName, c: Configured): string | undefined {
  const entry = entryOf(name);
  return entry.configured && !entry.configured(c) ? `set ${entry.needs}` : undefined;
}
