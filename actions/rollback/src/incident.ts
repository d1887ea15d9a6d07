/**
 * Runbook §4.5 step 5: the incident ticket, a GitHub issue rendered from the post-mortem template.
 * One per failed deployment: the issue carries a hidden marker naming the environment, release and
 * rejected version, so a re-run (or a manual rollback of the same failure) edits the open one
 * instead of opening a second. GitHub being down is a warning: it never stops a rollback.
 */
import type { RunContext } from '@veloz/shared/contract';
import { describeError } from '@veloz/shared/checks';
import { deploymentImage, listReleaseRevisions, readReleaseRevision } from '@veloz/shared/helm/history';
import type { KubeSession } from '@veloz/shared/kube/session';
import type { ActionRun } from '@veloz/shared/pipeline';
import { githubClient } from '@veloz/shared/records/github';
import { redact } from '@veloz/shared/secrets';
import { describeRevision, versionOf } from './describe';
import { renderIncident, type IncidentPlaceholder } from './incident-template';
import type { RollbackSettings } from './inputs';
import type { Plan } from './plan';

interface IncidentContext {
  s: Readonly<RollbackSettings>;
  ctx: RunContext;
  run: ActionRun;
  session: KubeSession;
  plan?: Plan;
  databaseNote?: string;
  incidentUrl?: string;
  incidentNumber?: number;
}

type IncidentStatus = 'IN PROGRESS' | 'COMPLETE' | 'FAILED';

/** Opens the ticket, or finds the open one of this failure and brings it up to date. */
export async function fileIncident(rollback: IncidentContext, status: IncidentStatus): Promise<void> {
  const ticket = rollback.s.incidentTicket!;
  const [owner = '', repo = ''] = (ticket.repository ?? rollback.ctx.workflowRun.repository).split('/');
  const marker = `<!-- veloz-incident: ${incidentKey(rollback)} -->`;
  const title = `Incident: ${rollback.s.target.release} ${versionOf(rollback.plan!.from.image)} rolled back in ${rollback.s.records.environment}`;
  try {
    const body = `${redact(renderIncident(ticket.template, await placeholders(rollback, status)))}\n\n${marker}\n`;
    const octokit = await githubClient(rollback.s.records.githubToken!, rollback.ctx.workflowRun);
    rollback.incidentNumber ??= await findOpen(octokit, owner, repo, ticket.label, marker);
    const issue = rollback.incidentNumber
      ? await octokit.rest.issues.update({ owner, repo, issue_number: rollback.incidentNumber, title, body })
      : await octokit.rest.issues.create({ owner, repo, title, body, labels: [ticket.label] });
    rollback.incidentNumber = issue.data.number;
    rollback.incidentUrl = issue.data.html_url;
    rollback.run.outputs['incident-url'] = issue.data.html_url;
    rollback.run.note(`${status === 'IN PROGRESS' ? 'ticket' : 'updated'} ${issue.data.html_url}`);
  } catch (error) {
    rollback.run.warnings.push(
      `Incident ticket not ${rollback.incidentNumber ? 'updated' : 'opened'} in ${owner}/${repo}: ${describeError(error)}.`,
    );
  }
}

/** The failed deployment this ticket is about: environment, namespace, release, rejected version. */
function incidentKey(r: IncidentContext): string {
  const { namespace, release } = r.s.target;
  return `${r.s.records.environment}/${namespace}/${release}/${versionOf(r.plan!.from.image)}`;
}

type Octokit = Awaited<ReturnType<typeof githubClient>>;

async function findOpen(octokit: Octokit, owner: string, repo: string, label: string, marker: string) {
  const issues = await octokit.paginate(octokit.rest.issues.listForRepo, {
    owner,
    repo,
    labels: label,
    state: 'open',
    per_page: 100,
  });
  return issues.find((i) => !i.pull_request && (i.body ?? '').includes(marker))?.number;
}

async function placeholders(r: IncidentContext, status: IncidentStatus): Promise<Record<IncidentPlaceholder, string>> {
  const plan = r.plan!;
  const { namespace, release } = r.s.target;
  const { serverUrl, repository, runUrl } = r.ctx.workflowRun;
  return {
    service: `${release} in ${namespace}`,
    environment: r.s.records.environment,
    from: describeRevision(plan.from),
    to: describeRevision(plan.to),
    'from-version': versionOf(plan.from.image),
    'to-version': versionOf(plan.to.image),
    status,
    reason: r.s.reason,
    evidence: evidence(r),
    timeline: (await releaseTimeline(r)).concat(rollbackTimeline(r)).join('\n'),
    database:
      r.databaseNote ?? (r.s.database ? 'Restored by point-in-time recovery (see the timeline).' : 'Not restored.'),
    'run-url': runUrl,
    'deployment-record': `${serverUrl}/${repository}/deployments/${r.s.records.environment}`,
    report: `job summary and JSON report of ${runUrl}`,
    started: new Date(r.run.started).toISOString(),
  };
}

/** The verdict's reasons (`;`-separated in the reason) and the rollback's own checks so far. */
function evidence(r: IncidentContext): string {
  const reasons = r.s.reason
    .split(/;\s+/)
    .filter(Boolean)
    .map((line) => `- ${line}`);
  const checks = r.run.report.checks.map((c) => `- ${c.title}: ${c.status}${c.observed ? ` (${c.observed})` : ''}`);
  return [...reasons, ...checks].join('\n') || '- none recorded';
}

/** The deploy as the release history tells it: the revisions after the restored one, up to the failed one. */
async function releaseTimeline(r: IncidentContext): Promise<string[]> {
  if (r.s.target.driver !== 'helm') return [];
  const { namespace, release, deployment } = r.s.target;
  const { from, to } = r.plan!;
  try {
    const revisions = (await listReleaseRevisions(r.session.kube, namespace, release)).filter(
      (rev) => rev.revision > to.revision && rev.revision <= from.revision,
    );
    const details = await Promise.all(
      revisions.slice(-6).map((rev) => readReleaseRevision(r.session.kube, namespace, rev)),
    );
    return details.map((d) => {
      const image = deploymentImage(d.manifest, deployment);
      return `- ${d.updated || 'unknown time'}: revision ${d.revision}${image ? ` (${versionOf(image)})` : ''} ${d.status} — ${d.description}`;
    });
  } catch (error) {
    return [`- release history unreadable: ${describeError(error)}`];
  }
}

/** Each step of this rollback, at the time it started (the run's start plus the steps before it). */
function rollbackTimeline(r: IncidentContext): string[] {
  let at = r.run.started;
  const lines = [`- ${new Date(at).toISOString()}: rollback started — ${r.s.reason}`];
  for (const step of r.run.report.steps) {
    if (step.status === 'not-run') continue;
    lines.push(
      `- ${new Date(at).toISOString()}: ${step.name.trim()} (${step.status}${step.detail ? `: ${step.detail}` : ''})`,
    );
    if (!step.name.startsWith('  ')) at += step.durationMs ?? 0;
  }
  return lines;
}
