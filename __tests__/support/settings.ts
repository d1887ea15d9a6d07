/** Settings an action would parse from its action.yml defaults plus the given inputs (for source tests). */
import { loadActionMetadata, type ActionName } from '@veloz/harness';
import { InputReader } from '@veloz/shared/inputs';

export async function inputsWithDefaults(action: ActionName, values: Record<string, string>): Promise<InputReader> {
  const meta = await loadActionMetadata(action);
  const all: Record<string, string> = {};
  for (const [name, input] of Object.entries(meta.inputs)) if (input.default !== undefined) all[name] = input.default;
  // The target is not read here (tests pass their own Kube): any valid kubeconfig value will do.
  all.kubeconfig = 'in-cluster';
  Object.assign(all, values);
  return new InputReader((name) => all[name] ?? '');
}
