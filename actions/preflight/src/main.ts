// The bundle's entry (cli/src/bundle-entry.ts) runs preflightAction; @github/local-action calls run() with no arguments.
import { actionEntry } from '@veloz/shared/action-entry';
import { parsePreflightInputs } from './inputs';

export const { definition: preflightAction, run } = actionEntry(
  'preflight',
  parsePreflightInputs,
  () => import('./run'),
);
