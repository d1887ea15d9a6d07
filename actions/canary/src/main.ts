// The bundle's entry (cli/src/bundle-entry.ts) runs canaryAction; @github/local-action calls run() with no arguments.
import { actionEntry } from '@veloz/shared/action-entry';
import { parseCanaryInputs } from './inputs';

export const { definition: canaryAction, run } = actionEntry('canary', parseCanaryInputs, () => import('./run'));
