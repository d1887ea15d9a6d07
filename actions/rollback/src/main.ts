import type { ActionDefinition } from '@veloz/shared/action';
import { parseRollbackInputs, type RollbackSettings } from './inputs';

export const rollbackAction: ActionDefinition<RollbackSettings> = {
  name: 'rollback',
  parse: parseRollbackInputs,
  load: async () => (await import('./run')).run,
};
