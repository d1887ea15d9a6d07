/** The small rules behind the §1.1 readiness checks, on their own. */
import { describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHECKLIST, checklistSection } from '../../actions/preflight/src/checklist';
import { selects } from '../../actions/preflight/src/checks/network-policy';
import { namesVersion } from '../../actions/preflight/src/checks/notice';
import { changelogSection, releaseNotesCheck, tagsOf } from '../../actions/preflight/src/checks/release-notes';
import { runCheck } from './helpers';

const CHANGELOG = `# Changelog

## [1.1.0] - 2026-02-20
### Fixed
- order routing retries

## [1.0.1] - 2026-01-10

## [1.0.0] - 2025-12-01
- first release
`;

describe('release notes from a CHANGELOG', () => {
  test('the section of the version, up to the next heading of its level', () => {
    expect(changelogSection(CHANGELOG, '1.1.0')).toBe('### Fixed\n- order routing retries');
    expect(changelogSection(CHANGELOG, 'v1.0.0')).toBe('- first release');
    expect(changelogSection(CHANGELOG, '1.0.1')).toBe('');
    expect(changelogSection(CHANGELOG, '1.1')).toBeUndefined();
    expect(changelogSection(CHANGELOG, '1.0')).toBeUndefined();
  });

  test('release-notes-path: a written section passes, an empty or missing one fails', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'veloz-notes-'));
    try {
      const path = join(dir, 'CHANGELOG.md');
      await writeFile(path, CHANGELOG);
      const check = (version: string, p = path) => runCheck(releaseNotesCheck({ version, path: p, timeoutMs: 5000 }));
      expect((await check('1.1.0')).status).toBe('pass');
      expect(await check('1.0.1')).toMatchObject({ status: 'fail', observed: 'empty section for 1.0.1' });
      expect(await check('2.0.0')).toMatchObject({ status: 'fail', observed: 'no section for 2.0.0' });
      expect(await check('1.1.0', join(dir, 'nope.md'))).toMatchObject({ status: 'fail', observed: 'no changelog' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('tags looked up for a version', () => {
    expect(tagsOf('1.1.0')).toEqual(['1.1.0', 'v1.1.0']);
    expect(tagsOf('v1.1.0')).toEqual(['v1.1.0', '1.1.0']);
  });
});

test('an announcement names the version as a word of its own', () => {
  expect(namesVersion('Deploy v1.1.0 on Monday', '1.1.0')).toBe(true);
  expect(namesVersion('Deploy 1.1.0.', '1.1.0')).toBe(true);
  expect(namesVersion('Deploy 1.1.01', '1.1.0')).toBe(false);
  expect(namesVersion('Deploy 11.1.0', '1.1.0')).toBe(false);
  expect(namesVersion('Deploy 1.1.0-rc1', '1.1.0')).toBe(false);
});

test('label selectors select as Kubernetes does', () => {
  const pod = { app: 'veloz-engine', tier: 'trading' };
  expect(selects({}, pod)).toBe(true);
  expect(selects({ matchLabels: { app: 'veloz-engine' } }, pod)).toBe(true);
  expect(selects({ matchLabels: { app: 'veloz-gateway' } }, pod)).toBe(false);
  expect(selects({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['trading'] }] }, pod)).toBe(true);
  expect(selects({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['trading'] }] }, pod)).toBe(false);
  expect(selects({ matchExpressions: [{ key: 'canary', operator: 'DoesNotExist' }] }, pod)).toBe(true);
  expect(selects({ matchExpressions: [{ key: 'canary', operator: 'Exists' }] }, pod)).toBe(false);
});

test('with nothing run, all eighteen items are "not checked" with the input that would check them', () => {
  const section = checklistSection([], { oncall: 'not-sent', statusPage: 'not-sent' });
  expect(CHECKLIST).toHaveLength(18);
  expect(section.heading).toBe('Runbook §1.1 checklist: 0 of 18 items decided');
  expect(section.rows!.map((r) => r[2])).toEqual(Array(18).fill('◻️ not checked'));
  expect(section.rows!.every((r) => r[3]!.startsWith('set `') || r[3]!.startsWith('set the'))).toBe(true);
  const failed = checklistSection(
    [
      {
        name: 'monitoring',
        title: 'm',
        status: 'fail',
        durationMs: 1,
        data: { rules: 'pass', dashboards: 'fail', runbook: 'unset' },
      },
    ],
    { oncall: 'failed', statusPage: 'not-sent' },
  );
  const row = (item: string) => failed.rows!.find((r) => r[1] === item)!.slice(2);
  expect(row('Alerting rules configured')).toEqual(['✅ pass', '`monitoring` check']);
  expect(row('Dashboards accessible')).toEqual(['❌ fail', '`monitoring` check']);
  expect(row('DR runbook accessible')).toEqual(['◻️ not checked', 'set `dr-runbook-url`']);
  expect(row('On-call engineer notified')).toEqual(['❌ not delivered', 'preflight posted to `notify-webhook`']);
});
