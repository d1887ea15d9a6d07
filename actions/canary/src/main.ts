import { runAction, type ActionDefinition } from '@veloz/shared/action';
import { parseCanaryInputs, type CanarySettings } from './inputs';

export const canaryAction: ActionDefinition<CanarySettings> = {
  name: 'canary',
  parse: parseCanaryInputs,
  load: async () => (await import('./run')).run,
};

/** The entry @github/local-action (and any caller that is not the bundle) runs: `run()` with no arguments. */
export function run(): Promise<void> {
  return runAction(canaryAction);
}
