/**
 * Runbook §1.1 as the approver reads it: all eighteen items, each decided by a check (or by the
 * announcement preflight makes once the checklist passed), or "not checked" with the input that would.
 */
import type { CheckResult } from '@veloz/shared/checks';
import { STATUS_ICON, type Section } from '@veloz/shared/report';
import { entryOf, type ChecklistCheckName } from './registry';

/** What the announcement after a passing checklist did, per route. */
export interface Announced {
  oncall: 'sent' | 'failed' | 'not-sent';
  statusPage: 'sent' | 'failed' | 'not-sent';
  /** Where the on-call notice went when `notify-routes` routed it, e.g. "`notify-routes` (platform)". */
  oncallVia?: string;
}

interface Item {
  group: string;
  text: string;
  /** Decides the item from the results; undefined when nothing decided it. */
  decide(find: (name: string) => CheckResult | undefined, announced: Announced): Decision | undefined;
  /** The input that would check it. */
  input: string;
}

interface Decision {
  result: string;
  by: string;
}

const byCheck =
  (name: ChecklistCheckName, part?: string) =>
  (find: (n: string) => CheckResult | undefined): Decision | undefined => {
    const r = find(name);
    if (!r) return undefined;
    const status = part ? (r.data?.[part] as string | undefined) : r.status;
    if (!status || status === 'unset') return undefined;
    return { result: `${STATUS_ICON[status as CheckResult['status']] ?? ''} ${status}`, by: `\`${name}\` check` };
  };

const byRoute =
  (route: 'oncall' | 'statusPage', input: string) =>
  (_find: unknown, announced: Announced): Decision | undefined => {
    const by = `preflight posted to ${(route === 'oncall' && announced.oncallVia) || `\`${input}\``}`;
    if (announced[route] === 'sent') return { result: '✅ done', by };
    return announced[route] === 'failed' ? { result: '❌ not delivered', by } : undefined;
  };

/** An item one check decides as a whole: the inputs that would check it are that check's needs. */
const item = (group: string, text: string, check: ChecklistCheckName): Item => ({
  group,
  text,
  decide: byCheck(check),
  input: entryOf(check).needs ?? `\`checks\` including ${check}`,
});

export const CHECKLIST: readonly Item[] = [
  item('Code Quality', 'All CI tests passing on release branch', 'ci'),
  item('Code Quality', 'Code review approved by at least 2 reviewers', 'reviews'),
  item('Code Quality', 'Security scan completed with no critical/high vulnerabilities', 'security'),
  {
    group: 'Code Quality',
    text: 'Performance benchmarks meet SLO targets',
    decide: (find) => {
      const ci = find('ci');
      const required = ci?.threshold?.includes('required:');
      return ci && required
        ? { result: `${STATUS_ICON[ci.status]} ${ci.status}`, by: '`ci` check (`required-checks`)' }
        : undefined;
    },
    input: 'the benchmark job in `required-checks` (with `github-token`)',
  },
  item('Code Quality', 'Release notes documented', 'release-notes'),
  item('Infrastructure', 'Kubernetes cluster healthy', 'cluster'),
  item('Infrastructure', 'Sufficient cluster resources available', 'capacity'),
  item('Infrastructure', 'Database connections verified', 'postgres'),
  item('Infrastructure', 'Redis cluster healthy', 'redis'),
  item('Infrastructure', 'Network policies in place', 'network-policy'),
  {
    group: 'Backup & Recovery',
    text: 'Fresh database backup taken (< 1 hour old)',
    decide: byCheck('backup'),
    input: '`backup-path` or `backup-verify-command`',
  },
  item('Backup & Recovery', 'WAL backup current (< 5 minutes old)', 'postgres'),
  {
    group: 'Backup & Recovery',
    text: 'Backup verification passed',
    decide: byCheck('backup'),
    input: '`backup-verify-command`',
  },
  {
    group: 'Backup & Recovery',
    text: 'DR runbook accessible',
    decide: byCheck('monitoring', 'runbook'),
    input: '`dr-runbook-url`',
  },
  {
    group: 'Monitoring',
    text: 'Alerting rules configured',
    decide: byCheck('monitoring', 'rules'),
    input: '`prometheus-url`',
  },
  {
    group: 'Monitoring',
    text: 'Dashboards accessible',
    decide: byCheck('monitoring', 'dashboards'),
    input: '`dashboard-urls`',
  },
  {
    group: 'Monitoring',
    text: 'On-call engineer notified',
    decide: byRoute('oncall', 'notify-webhook'),
    input: '`notify-webhook` or `notify-routes`',
  },
  {
    group: 'Monitoring',
    text: 'Status page updated (maintenance window)',
    decide: byRoute('statusPage', 'status-page-webhook'),
    input: '`status-page-webhook`',
  },
];

export function checklistSection(results: readonly CheckResult[], announced: Announced): Section {
  const find = (name: string): CheckResult | undefined => results.find((r) => r.name === name);
  const rows = CHECKLIST.map((item) => {
    const decision = item.decide(find, announced);
    return decision
      ? [item.group, item.text, decision.result, decision.by]
      : [item.group, item.text, '◻️ not checked', `set ${item.input}`];
  });
  const decided = rows.filter((r) => r[2] !== '◻️ not checked').length;
  return {
    heading: `Runbook §1.1 checklist: ${decided} of ${CHECKLIST.length} items decided`,
    columns: ['Area', 'Item', 'Result', 'Decided by'],
    rows,
  };
}
