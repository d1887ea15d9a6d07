import type { RunResult } from './action';
import { emptyReport, type ActionName } from './report';

/** The honest answer of an action whose chapter has not landed yet: a failed step, never a pass. */
export function notImplemented(action: ActionName, issue: number, now: Date): RunResult {
  const report = emptyReport(action, `${action}: not implemented yet`, now);
  report.status = 'failure';
  report.headline = `The ${action} action is declared but its logic has not landed yet (issue #${issue}). Nothing was changed.`;
  return { report, outputs: {}, failure: report.headline };
}
