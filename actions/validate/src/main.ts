import { runAction, type ActionDefinition } from '@veloz/shared/action';
import { parseValidateInputs, type ValidateSettings } from './inputs';

export const validateAction: ActionDefinition<ValidateSettings> = {
  name: 'validate',
  parse: parseValidateInputs,
  load: async () => (await import('./run')).run,
};

/** The entry @github/local-action (and any caller that is not the bundle) runs: `run()` with no arguments. */
export function run(): Promise<void> {
  return runAction(validateAction);
}
