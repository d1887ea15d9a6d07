import { runAction, type ActionDefinition } from '@veloz/shared/action';
import { parseRollbackInputs, type RollbackSettings } from './inputs';

export const rollbackAction: ActionDefinition<RollbackSettings> = {
  name: 'rollback',
  parse: parseRollbackInputs,
  load: async () => (await import('./run')).run,
};

/** The entry @github/local-action (and any caller that is not the bundle) runs: `run()` with no arguments. */
export function run(): Promise<void> {
  return runAction(rollbackAction);
}
