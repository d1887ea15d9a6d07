// The bundle's entry (cli/src/bundle-entry.ts) runs validateAction; @github/local-action calls run() with no arguments.
import { actionEntry } from '@veloz/shared/action-entry';
import { parseValidateInputs } from './inputs';

export const { definition: validateAction, run } = actionEntry('validate', parseValidateInputs, () => import('./run'));
