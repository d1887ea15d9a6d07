// The bundle's entry (cli/src/bundle-entry.ts) runs rollbackAction; @github/local-action calls run() with no arguments.
import { actionEntry } from '@veloz/shared/action-entry';
import { parseRollbackInputs } from './inputs';

export const { definition: rollbackAction, run } = actionEntry('rollback', parseRollbackInputs, () => import('./run'));
