import type { ActionDefinition } from '@veloz/shared/action';
import { parsePreflightInputs, type PreflightSettings } from './inputs';

export const preflightAction: ActionDefinition<PreflightSettings> = {
  name: 'preflight',
  parse: parsePreflightInputs,
  load: async () => (await import('./run')).run,
};
