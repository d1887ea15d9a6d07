/** The §4.4 restore commands from source: a run that lost the release lock starts no further command. */
import { describe, expect, test } from '@jest/globals';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Fence, LockLostError } from '@veloz/shared/kube/fence';
import { runRestoreCommands } from '../../actions/rollback/src/database';

describe('restore commands and the release lock', () => {
  test('the running command finishes; the next one is not started once the lock is lost', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'veloz-restore-'));
    try {
      const fence = new Fence();
      const commands = [`touch ${join(dir, 'one')}`, `touch ${join(dir, 'two')}`];
      let checks = 0;
      const run = runRestoreCommands(
        commands,
        new Date('2026-12-01T03:00:00Z'),
        10_000,
        () => {},
        (next) => {
          // the first command has run by the second check: the lock is lost in between
          if (++checks === 2)
            fence.markLost({
              holder: 'rollback run https://github.com/veloz/veloz/actions/runs/9',
              at: 0,
              lease: 'l',
              namespace: 'veloz',
            });
          fence.check(next);
        },
      );
      const error = await run.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LockLostError);
      expect((error as Error).message).toContain(`stopped before the restore command touch`);
      expect(existsSync(join(dir, 'one'))).toBe(true);
      expect(existsSync(join(dir, 'two'))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a tracked restore keeps the fence busy until its command ends', async () => {
    const fence = new Fence();
    const restore = fence.track(runRestoreCommands(['sleep 0.3'], new Date(), 10_000, () => {}));
    expect(await fence.idle(50)).toBe(false);
    const [steps, idle] = await Promise.all([restore, fence.idle(5_000)]);
    expect(steps.map((s) => s.ok)).toEqual([true]);
    expect(idle).toBe(true);
  });
});
