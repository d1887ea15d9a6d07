/** docs/environments.md must document every runbook §1.3 input of preflight. */
import { expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './support/workflows';

test('the doc maps every runbook §1.3 window input of preflight', () => {
  const doc = readFileSync(join(ROOT, 'docs/environments.md'), 'utf8');
  for (const input of [
    'window-days',
    'window-hours',
    'window-timezone',
    'freeze',
    'month-end-days',
    'override-reason',
    'evaluate-at',
  ]) {
    expect({ input, documented: doc.includes(`\`${input}\``) }).toEqual({ input, documented: true });
  }
});
