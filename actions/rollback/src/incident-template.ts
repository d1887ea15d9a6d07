/**
 * Runbook §4.5 step 5 "Create incident ticket — link to post-mortem template": the template the
 * ticket's body is rendered from. `incident-template` names a Markdown file that replaces it; the
 * same `{placeholders}` are filled in, and an unknown one is a bad input.
 */

/** Every placeholder a template may use, with what it becomes (the README lists these). */
export const INCIDENT_PLACEHOLDERS = {
  service: 'release and namespace, e.g. `veloz in veloz`',
  environment: 'GitHub environment, e.g. `production`',
  from: 'what was rolled back, e.g. `revision 4 (v1.2.0)`',
  to: 'what runs now, e.g. `revision 2 (v1.1.0)`',
  'from-version': 'the rejected version, e.g. `v1.2.0`',
  'to-version': 'the restored version',
  status: 'IN PROGRESS, COMPLETE or FAILED',
  reason: 'why: the verdict of the deploy (the `reason` input)',
  evidence: 'the verdict’s evidence and the rollback’s own health checks, as a list',
  timeline: 'the release’s revisions since the restored one and the rollback’s steps, with times',
  database: 'what happened to the database (runbook §4.4)',
  'run-url': 'the rollback run',
  'deployment-record': 'the environment’s GitHub deployments page',
  report: 'where the rollback’s report is',
  started: 'when the rollback started (UTC)',
} as const;

export type IncidentPlaceholder = keyof typeof INCIDENT_PLACEHOLDERS;

export const DEFAULT_INCIDENT_TEMPLATE = `## Summary

{service} in **{environment}** was rolled back from **{from}** to **{to}**.
Status: **{status}** (rollback started {started}).

## Why

{reason}

### Evidence

{evidence}

## Timeline (UTC)

{timeline}

## Database

{database}

## Links

- Rollback run: {run-url}
- Deployment record: {deployment-record}
- Report: {report}

## Post-mortem

_Blameless; fill in within five business days._

### Impact

- Customers / trading affected:
- Duration of impact:
- Orders or data affected (runbook §4.5 step 2 consistency query):

### Root cause

### What went well

### What went wrong

### Action items

| Action | Owner | Due |
| --- | --- | --- |
|  |  |  |
`;

/** `{name}` placeholders a template uses that are not known. */
export function unknownPlaceholders(template: string): string[] {
  const used = [...template.matchAll(/\{([a-z][a-z-]*)\}/g)].map((m) => m[1]!);
  return [...new Set(used.filter((name) => !(name in INCIDENT_PLACEHOLDERS)))];
}

export function renderIncident(template: string, values: Record<IncidentPlaceholder, string>): string {
  return template.replace(/\{([a-z][a-z-]*)\}/g, (whole, name: string) =>
    name in values ? values[name as IncidentPlaceholder] : whole,
  );
}
