import type { ActionDefinition } from '@veloz/shared/action';
import { parseValidateInputs, type ValidateSettings } from './inputs';

export const validateAction: ActionDefinition<ValidateSettings> = {
  name: 'validate',
  parse: parseValidateInputs,
  load: async () => (await import('./run')).run,
};
