import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand, splitCommandLine } from '@veloz/shared/command';
import { writeScript } from './helpers';

describe('splitCommandLine', () => {
  test.each([
    [
      '/opt/veloz/scripts/backup/backup_postgres.sh -t full',
      ['/opt/veloz/scripts/backup/backup_postgres.sh', '-t', 'full'],
    ],
    ['  a   b\tc  ', ['a', 'b', 'c']],
    [`'a b' "c d" e\\ f`, ['a b', 'c d', 'e f']],
    [`"say \\"hi\\"" 'it''s' "back\\\\slash" "\\n stays"`, ['say "hi"', 'its', 'back\\slash', '\\n stays']],
    [`x"y"'z'`, ['xyz']],
    [`"" ''`, ['', '']],
    ['$HOME *.sql; rm -rf /', ['$HOME', '*.sql;', 'rm', '-rf', '/']],
    ['', []],
  ])('%s', (line, argv) => {
    expect(splitCommandLine(line)).toEqual(argv);
  });

  test('unbalanced quotes and a trailing backslash are errors', () => {
    expect(() => splitCommandLine(`echo 'oops`)).toThrow(/unbalanced single quote/);
    expect(() => splitCommandLine(`echo "oops`)).toThrow(/unbalanced double quote/);
    expect(() => splitCommandLine('echo oops\\')).toThrow(/trailing backslash/);
  });
});

describe('runCommand', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'veloz-cmd-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const script = (name: string, body: string): Promise<string> => writeScript(dir, name, body);

  test('records stdout and stderr lines, exit code and the last line', async () => {
    const path = await script('ok.sh', 'echo one; echo two >&2; printf "no newline"');
    const seen: string[] = [];
    const r = await runCommand([path], { timeoutMs: 10_000, onLine: (l, s) => seen.push(`${s}:${l}`) });
    expect(r).toMatchObject({ ok: true, exitCode: 0, timedOut: false, lastLine: 'no newline' });
    expect([...r.lines].sort()).toEqual(['no newline', 'one', 'two']);
    expect(seen).toContain('stderr:two');
  });

  test('no shell: arguments reach the program verbatim', async () => {
    const r = await runCommand(['printf', '%s|', '$HOME', '*', 'a;b'], { timeoutMs: 10_000 });
    expect(r.lastLine).toBe('$HOME|*|a;b|');
  });

  test('a non-zero exit is a result, not a throw', async () => {
    const path = await script('fail.sh', 'echo "backup is 3h old"; exit 3');
    const r = await runCommand([path], { timeoutMs: 10_000 });
    expect(r).toMatchObject({ ok: false, exitCode: 3, lastLine: 'backup is 3h old', error: 'exited with code 3' });
  });

  test('a missing program is a result with a clear message', async () => {
    const r = await runCommand(['/opt/veloz/scripts/backup/verify_backup.sh'], { timeoutMs: 10_000 });
    expect(r.ok).toBe(false);
    expect(r.exitCode).toBeNull();
    expect(r.error).toMatch(/^command not found: \/opt\/veloz\/scripts\/backup\/verify_backup\.sh \(ENOENT\)/);
    const notExec = join(dir, 'plain.txt');
    await writeFile(notExec, 'x');
    expect((await runCommand([notExec], { timeoutMs: 10_000 })).error).toMatch(/EACCES/);
  });

  test('a timeout kills the whole process group, background children included', async () => {
    const pidFile = join(dir, 'child.pid');
    const path = await script('hang.sh', `sleep 300 & echo $! > ${pidFile}; echo started; wait`);
    const r = await runCommand([path], { timeoutMs: 500, killGraceMs: 200 });
    expect(r).toMatchObject({ ok: false, timedOut: true, lastLine: 'started' });
    expect(r.error).toMatch(/timed out after 500 ms/);
    const { readFile } = await import('node:fs/promises');
    const childPid = Number(await readFile(pidFile, 'utf8'));
    // The background sleep got the group signal too (it may linger briefly as a zombie).
    const alive = async (): Promise<boolean> => {
      try {
        return !/^\d+ \(.*\) Z/.test(await readFile(`/proc/${childPid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && (await alive()); i++) await new Promise((res) => setTimeout(res, 100));
    expect(await alive()).toBe(false);
  });

  test('an abort signal stops it', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const r = await runCommand(['sleep', '300'], { timeoutMs: 60_000, signal: controller.signal });
    expect(r).toMatchObject({ ok: false, aborted: true, timedOut: false });
  });

  test('output is bounded to the most recent lines', async () => {
    const r = await runCommand(['seq', '1', '1000'], { timeoutMs: 10_000, maxLines: 10 });
    expect(r.lines).toEqual(['991', '992', '993', '994', '995', '996', '997', '998', '999', '1000']);
    expect(r.droppedLines).toBe(990);
  });
});
