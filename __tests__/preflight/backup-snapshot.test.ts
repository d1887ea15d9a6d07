import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupCheck } from '../../actions/preflight/src/checks/backup';
import { globFiles, segmentPattern } from '../../actions/preflight/src/checks/glob';
import { snapshotCheck } from '../../actions/preflight/src/checks/snapshot';
import { runCheck, writeScript } from './helpers';

const HOUR = 3_600_000;
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'veloz-backup-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const script = (name: string, body: string): Promise<string> => writeScript(dir, name, body);
const age = async (path: string, ms: number): Promise<void> => {
  const t = new Date(Date.now() - ms);
  await utimes(path, t, t);
};

describe('glob', () => {
  test('segment patterns: * ? [..] [!..]', () => {
    expect(segmentPattern('full-*.dump').test('full-2025-03-03.dump')).toBe(true);
    expect(segmentPattern('full-*.dump').test('full-x.dump.tmp')).toBe(false);
    expect(segmentPattern('wal-??').test('wal-01')).toBe(true);
    expect(segmentPattern('wal-??').test('wal-001')).toBe(false);
    expect(segmentPattern('[ab]-[!x]').test('a-y')).toBe(true);
    expect(segmentPattern('[ab]-[!x]').test('a-x')).toBe(false);
    expect(segmentPattern('a+b(c).sql').test('a+b(c).sql')).toBe(true);
  });

  test('wildcards in several segments; files only; no dotfiles', async () => {
    const g = join(dir, 'glob');
    for (const d of ['2025-03', '2025-04', 'other']) await mkdir(join(g, d), { recursive: true });
    for (const f of ['2025-03/full-1.dump', '2025-04/full-2.dump', '2025-04/.full-hidden.dump', 'other/full-3.dump'])
      await writeFile(join(g, f), f);
    await mkdir(join(g, '2025-04', 'full-dir.dump'));
    const found = await globFiles(join(g, '2025-??', 'full-*.dump'));
    expect(found.map((f) => f.path)).toEqual([join(g, '2025-03/full-1.dump'), join(g, '2025-04/full-2.dump')]);
    expect((await globFiles('glob/other/*.dump', dir)).map((f) => f.path)).toEqual([join(g, 'other/full-3.dump')]);
    expect(await globFiles(join(g, 'missing', '*'))).toEqual([]);
  });
});

describe('backup check', () => {
  test('the newest matching file decides; an aged file fails with its age and what to do', async () => {
    const b = join(dir, 'backups');
    await mkdir(b);
    await writeFile(join(b, 'full-old.dump'), 'old');
    await writeFile(join(b, 'full-new.dump'), 'new backup');
    await age(join(b, 'full-old.dump'), 5 * HOUR);
    await age(join(b, 'full-new.dump'), 10 * 60_000);
    const check = backupCheck({ maxAgeMs: HOUR, path: join(b, 'full-*.dump'), timeoutMs: 10_000 });
    const fresh = await runCheck(check);
    expect(fresh.status).toBe('pass');
    expect(fresh.observed).toBe(`newest ${join(b, 'full-new.dump')} is 10m old (10 B)`);
    expect(fresh.data).toMatchObject({ backupFile: join(b, 'full-new.dump'), matched: 2 });

    await age(join(b, 'full-new.dump'), 2 * HOUR);
    const stale = await runCheck(check);
    expect(stale.status).toBe('fail');
    expect(stale.detail).toContain(`newest ${join(b, 'full-new.dump')} is 2h old (10 B), older than 1h`);
    expect(stale.detail).toContain('backup_postgres.sh -t full');
  });

  test('no matching file fails', async () => {
    const o = await runCheck(backupCheck({ maxAgeMs: HOUR, path: join(dir, 'nothing-*.dump'), timeoutMs: 10_000 }));
    expect(o.status).toBe('fail');
    expect(o.detail).toMatch(/no backup file matches/);
  });

  test('verify command: exit 0 passes with its last line; non-zero fails with code and last line', async () => {
    const good = await script('verify-ok.sh', 'echo checking; echo "OK: full backup 12m old, checksum verified"');
    const ok = await runCheck(backupCheck({ maxAgeMs: HOUR, verifyCommand: [good], timeoutMs: 10_000 }));
    expect(ok.status).toBe('pass');
    expect(ok.observed).toBe('verify-ok.sh exit 0: OK: full backup 12m old, checksum verified');

    const bad = await script('verify-bad.sh', 'echo "ERROR: newest backup is 3h old" >&2; exit 2');
    const o = await runCheck(
      backupCheck({ maxAgeMs: HOUR, verifyCommand: [bad, '--max-age', '1h'], timeoutMs: 10_000 }),
    );
    expect(o.status).toBe('fail');
    expect(o.detail).toBe(`backup verification ${bad} --max-age 1h exited with code 2: ERROR: newest backup is 3h old`);
    expect(o.data).toMatchObject({ verifyExitCode: 2, verifyLastLine: 'ERROR: newest backup is 3h old' });
  });

  test('a hanging verify command times out alone', async () => {
    const hang = await script('verify-hang.sh', 'echo started; sleep 300');
    const o = await runCheck(
      backupCheck({ maxAgeMs: HOUR, verifyCommand: [hang], verifyTimeoutMs: 300, timeoutMs: 10_000 }),
    );
    expect(o.status).toBe('fail');
    expect(o.detail).toMatch(/timed out after 300 ms.*: started/);
  });

  test('both configured: both must hold; neither: skip', async () => {
    const good = await script('verify-ok2.sh', 'echo fine');
    const o = await runCheck(
      backupCheck({ maxAgeMs: HOUR, verifyCommand: [good], path: join(dir, 'nothing-*'), timeoutMs: 10_000 }),
    );
    expect(o.status).toBe('fail');
    expect(o.observed).toMatch(/no file matches .*; verify-ok2\.sh exit 0: fine/);
    expect((await runCheck(backupCheck({ maxAgeMs: HOUR, timeoutMs: 10_000 }))).status).toBe('skip');
  });
});

describe('snapshot check', () => {
  test('runs commands in order and records their output', async () => {
    const log = join(dir, 'snapshot.log');
    const full = await script('backup_postgres.sh', `echo "full $1 $2" >> ${log}; echo "base backup done"`);
    const wal = await script('backup_wal.sh', `echo wal >> ${log}; echo "wal archived"`);
    const o = await runCheck(
      snapshotCheck({ commands: [[full, '-t', 'full'], [wal]], commandTimeoutMs: 10_000, timeoutMs: 20_000 }),
    );
    expect(o.status).toBe('pass');
    expect(o.observed).toMatch(/^2\/2 snapshot command\(s\) succeeded/);
    expect(await readFile(log, 'utf8')).toBe('full -t full\nwal\n');
    const steps = (o.data as { steps: { status: string; output: string[] }[] }).steps;
    expect(steps.map((s) => s.status)).toEqual(['ok', 'ok']);
    expect(steps[0]!.output).toEqual(['base backup done']);
  });

  test('stops at the first failure and says what did not run', async () => {
    const log = join(dir, 'snapshot2.log');
    const one = await script('s1.sh', `echo one >> ${log}`);
    const two = await script('s2.sh', `echo "pg_basebackup: could not connect" >&2; exit 1`);
    const three = await script('s3.sh', `echo three >> ${log}`);
    const o = await runCheck(
      snapshotCheck({ commands: [[one], [two], [three]], commandTimeoutMs: 10_000, timeoutMs: 20_000 }),
    );
    expect(o.status).toBe('fail');
    expect(o.observed).toBe(`step 2/3 failed: ${two} exited with code 1`);
    expect(o.detail).toContain('last output: pg_basebackup: could not connect');
    expect(o.detail).toContain(`not run: ${three}`);
    expect(await readFile(log, 'utf8')).toBe('one\n');
  });

  test('each command has its own timeout; a missing command fails clearly', async () => {
    const slow = await script('slow.sh', 'sleep 300');
    const o = await runCheck(snapshotCheck({ commands: [[slow]], commandTimeoutMs: 300, timeoutMs: 20_000 }));
    expect(o.status).toBe('fail');
    expect(o.observed).toMatch(/timed out after 300 ms/);
    const missing = await runCheck(
      snapshotCheck({
        commands: [['/opt/veloz/scripts/backup/backup_wal.sh']],
        commandTimeoutMs: 1000,
        timeoutMs: 20_000,
      }),
    );
    expect(missing.observed).toMatch(/command not found: .*backup_wal\.sh \(ENOENT\)/);
  });

  test('a hanging snapshot respects the check signal', async () => {
    const slow = await script('slow2.sh', 'sleep 300');
    const o = await runCheck(snapshotCheck({ commands: [[slow]], commandTimeoutMs: 60_000, timeoutMs: 60_000 }), {
      abortAfterMs: 300,
    });
    expect(o.status).toBe('fail');
    expect(o.observed).toMatch(/aborted \(process group killed\)/);
  });

  test('no commands: skip', async () => {
    expect((await runCheck(snapshotCheck({ commands: [], commandTimeoutMs: 1000, timeoutMs: 1000 }))).status).toBe(
      'skip',
    );
  });
});
