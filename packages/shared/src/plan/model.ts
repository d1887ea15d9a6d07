/**
 * What a canary, promote or rollback would do, before it does it: the exact helm argv or API writes,
 * the revision it leads to, and the manifest diff. One shape, rendered into the report (the job
 * summary an approver reads, the CLI's text, the JSON) as sections.
 */
import type { Section } from '../report';
import type { ObjectChange } from './diff';

export interface DeployPlan {
  /** `canary`, `promote` or `rollback`. */
  operation: string;
  /** One line per command or API write, in the order they would run. */
  commands: string[];
  /** The revision the release would be at afterwards, in words (`helm revision 5`, `none: green is not a revision`). */
  target: string;
  changes: ObjectChange[];
}

/** argv as a person would type it: words with spaces or shell characters quoted. */
export function commandLine(argv: readonly string[]): string {
  return argv.map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** A field one side does not set (a chart leaves replicas to the autoscaler). */
const UNSET = '(unset)';

export function planSections(plan: DeployPlan, heading = `Plan: ${plan.operation}`): Section[] {
  const rows: string[][] = [];
  for (const c of plan.changes) {
    if (c.fields.length === 0) rows.push([c.object, c.change, '', '', '']);
    for (const [i, f] of c.fields.entries())
      rows.push([
        i === 0 ? c.object : '',
        i === 0 ? c.change : '',
        f.path,
        f.before ?? (c.change === 'changed' ? UNSET : ''),
        f.after ?? (c.change === 'changed' ? UNSET : ''),
      ]);
  }
  const sections: Section[] = [{ heading, lines: [...plan.commands.map((c) => `$ ${c}`), `Leads to: ${plan.target}`] }];
  sections.push(
    rows.length > 0
      ? { heading: `${heading}: changes`, columns: ['Object', 'Change', 'Field', 'Now', 'After'], rows }
      : { heading: `${heading}: changes`, lines: ['No object changes.'] },
  );
  return sections;
}
