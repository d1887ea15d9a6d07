import { describe, expect, test } from '@jest/globals';
import { InputReader } from '@veloz/shared/inputs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readIncidentTicket } from '../../actions/rollback/src/incident-inputs';
import { workspaceTempDir } from '@veloz/harness';
import {
  DEFAULT_INCIDENT_TEMPLATE,
  INCIDENT_PLACEHOLDERS,
  renderIncident,
  unknownPlaceholders,
  type IncidentPlaceholder,
} from '../../actions/rollback/src/incident-template';

const values = Object.fromEntries(Object.keys(INCIDENT_PLACEHOLDERS).map((k) => [k, `<${k}>`])) as Record<
  IncidentPlaceholder,
  string
>;

describe('post-mortem template', () => {
  test('the default uses every placeholder but {from-version} and {to-version}, and nothing unknown', () => {
    expect(unknownPlaceholders(DEFAULT_INCIDENT_TEMPLATE)).toEqual([]);
    const rendered = renderIncident(DEFAULT_INCIDENT_TEMPLATE, values);
    for (const name of Object.keys(INCIDENT_PLACEHOLDERS).filter((n) => !n.endsWith('-version')))
      expect(rendered).toContain(`<${name}>`);
    expect(rendered).not.toMatch(/\{[a-z-]+\}/);
  });

  test('a custom template is filled in; text in braces that is not a placeholder name stays', () => {
    const text = '# {from-version} → {to-version}\n{reason}\n```json\n{"a": 1}\n```\n';
    expect(unknownPlaceholders(text)).toEqual([]);
    expect(renderIncident(text, values)).toBe('# <from-version> → <to-version>\n<reason>\n```json\n{"a": 1}\n```\n');
  });

  test('incident-template is read at parse time; github needs a token', async () => {
    const dir = await workspaceTempDir('veloz-template-');
    const file = join(dir, 'pm.md');
    await writeFile(file, 'Rolled back {from} to {to}: {reason}\n');
    const reader = (inputs: Record<string, string>) =>
      new InputReader((name) => ({ 'incident-label': 'incident', 'incident-ticket': 'github', ...inputs })[name] ?? '');
    expect(readIncidentTicket(reader({ 'incident-template': file }), 'token')).toEqual({
      repository: undefined,
      template: 'Rolled back {from} to {to}: {reason}\n',
      label: 'incident',
    });
    expect(() => readIncidentTicket(reader({}), undefined)).toThrow(/github-token.*issues: write/);
    expect(() => readIncidentTicket(reader({ 'incident-template': join(dir, 'missing.md') }), 'token')).toThrow(
      /incident-template.*a readable Markdown file/,
    );
    expect(readIncidentTicket(reader({ 'incident-ticket': 'none' }), undefined)).toBeUndefined();
    await rm(dir, { recursive: true, force: true });
  });
});
