/** The §4.5 step 5 inputs: whether the rollback opens an incident issue, where, and from which template. */
import { readFileSync } from 'node:fs';
import { InputError, type InputReader } from '@veloz/shared/inputs';
import { ParseError } from '@veloz/shared/parse';
import { DEFAULT_INCIDENT_TEMPLATE, INCIDENT_PLACEHOLDERS, unknownPlaceholders } from './incident-template';

export interface IncidentTicket {
  /** owner/name the issue is opened in. */
  repository?: string;
  template: string;
  label: string;
}

export function readIncidentTicket(reader: InputReader, githubToken: string | undefined): IncidentTicket | undefined {
  const kind = reader.choice('incident-ticket', ['none', 'github'] as const);
  const repository = reader.parsed('incident-repository', (text) => {
    if (!/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(text)) throw new ParseError('owner/name of a GitHub repository');
    return text;
  });
  const path = reader.path('incident-template');
  const label = reader.text('incident-label', { required: true });
  if (kind === 'none') return undefined;
  if (!githubToken)
    throw new InputError('github-token', '', 'a token with `issues: write`, because incident-ticket is github');
  let template = DEFAULT_INCIDENT_TEMPLATE;
  if (path) {
    try {
      template = readFileSync(path, 'utf8');
    } catch (error) {
      throw new InputError('incident-template', path, `a readable Markdown file (${(error as Error).message})`);
    }
    const unknown = unknownPlaceholders(template);
    if (unknown.length > 0) {
      throw new InputError(
        'incident-template',
        path,
        `a template using only {${Object.keys(INCIDENT_PLACEHOLDERS).join('}, {')}} (unknown: {${unknown.join('}, {')}})`,
      );
    }
  }
  return { repository, template, label };
}
