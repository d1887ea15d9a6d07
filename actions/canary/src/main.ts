import type { ActionDefinition } from '@veloz/shared/action';
import { parseCanaryInputs, type CanarySettings } from './inputs';

export const canaryAction: ActionDefinition<CanarySettings> = {
  name: 'canary',
  parse: parseCanaryInputs,
  load: async () => (await import('./run')).run,
};
