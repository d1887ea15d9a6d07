import type { RunContext, RunResult } from '@veloz/shared/action';
import { notImplemented } from '@veloz/shared/pending';
import type { PreflightSettings } from './inputs';

export async function run(_settings: Readonly<PreflightSettings>, context: RunContext): Promise<RunResult> {
  return notImplemented('preflight', 5, new Date(context.clock.now()));
}
