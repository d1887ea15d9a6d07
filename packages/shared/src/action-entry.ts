import { runAction } from './action';
import type { ActionDefinition, RunContext, RunResult } from './contract';
import type { InputReader } from './inputs';

type ActionRunner<S> = (settings: Readonly<S>, context: RunContext) => Promise<RunResult>;

/**
 * What each action's main.ts exports: its definition (for the bundle's entry, cli/src/bundle-entry.ts, and tests) and `run()`,
 * the no-argument entry @github/local-action calls. The run module is imported lazily, so a bad input
 * never pays for loading the Kubernetes client.
 */
export function actionEntry<S>(
  name: ActionDefinition<S>['name'],
  parse: (reader: InputReader, mask: (secret: string) => void) => S | Promise<S>,
  loadRunModule: () => Promise<{ run: ActionRunner<S> }>,
): { definition: ActionDefinition<S>; run: () => Promise<void> } {
  const definition: ActionDefinition<S> = { name, parse, load: async () => (await loadRunModule()).run };
  return { definition, run: () => runAction(definition) };
}
