import { runAction, type ActionDefinition } from '@veloz/shared/action';
import { parsePreflightInputs, type PreflightSettings } from './inputs';

export const preflightAction: ActionDefinition<PreflightSettings> = {
  name: 'preflight',
  parse: parsePreflightInputs,
  load: async () => (await import('./run')).run,
};

/** The entry @github/local-action (and any caller that is not the bundle) runs: `run()` with no arguments. */
export function run(): Promise<void> {
  return runAction(preflightAction);
}
