import type { RunContext, RunResult } from '@veloz/shared/action';
import { notImplemented } from '@veloz/shared/pending';
import type { ValidateSettings } from './inputs';

export async function run(_settings: Readonly<ValidateSettings>, context: RunContext): Promise<RunResult> {
  return notImplemented('validate', 7, new Date(context.clock.now()));
}
