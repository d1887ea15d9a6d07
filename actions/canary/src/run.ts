import type { RunContext, RunResult } from '@veloz/shared/action';
import { notImplemented } from '@veloz/shared/pending';
import type { CanarySettings } from './inputs';

export async function run(_settings: Readonly<CanarySettings>, context: RunContext): Promise<RunResult> {
  return notImplemented('canary', 6, new Date(context.clock.now()));
}
