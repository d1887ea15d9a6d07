import type { RunContext, RunResult } from '@veloz/shared/action';
import { notImplemented } from '@veloz/shared/pending';
import type { RollbackSettings } from './inputs';

export async function run(_settings: Readonly<RollbackSettings>, context: RunContext): Promise<RunResult> {
  return notImplemented('rollback', 8, new Date(context.clock.now()));
}
