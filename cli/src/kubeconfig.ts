/**
 * The kubeconfig from the usual places, as kubectl finds it: --kubeconfig, else $KUBECONFIG, else
 * ~/.kube/config; --context picks a context. Handed to the action as the `kubeconfig` input's content
 * (relative certificate paths made absolute), so the same parser checks and masks it.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { readKubeconfig } from '@veloz/shared/kubeconfig';
import { ParseError } from '@veloz/shared/parse';
import { SecretRegistry, secretRegistry } from '@veloz/shared/secrets';
import { IN_CLUSTER } from '@veloz/shared/target';
import { UsageError } from './flags';

export function kubeconfigContent(
  flag: string | undefined,
  context: string | undefined,
  env: NodeJS.ProcessEnv,
): string {
  if (flag === IN_CLUSTER) {
    if (context) throw new UsageError(`--context ${context} cannot be used with --kubeconfig ${IN_CLUSTER}`);
    return IN_CLUSTER;
  }
  const path = flag ?? kubeconfigPath(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const where = flag ? `--kubeconfig ${path}` : env.KUBECONFIG ? `KUBECONFIG=${path}` : path;
    throw new UsageError(
      `the kubeconfig ${where} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}): pass --kubeconfig FILE`,
    );
  }
  secretRegistry.add(text);
  let absolute: string;
  try {
    // Only to make relative paths absolute; the action's parser vets and masks the content itself.
    absolute = readKubeconfig(text, new SecretRegistry(), { allowAuthProviderCommands: true, baseDir: dirname(path) });
  } catch (error) {
    if (error instanceof ParseError)
      throw new UsageError(`the kubeconfig ${path} is not usable: expected ${error.expected}`);
    throw error;
  }
  return context ? withContext(absolute, context, path) : absolute;
}

function kubeconfigPath(env: NodeJS.ProcessEnv): string {
  const list = (env.KUBECONFIG ?? '').split(':').filter(Boolean);
  if (list.length > 1)
    throw new UsageError(`KUBECONFIG lists ${list.length} files (${list.join(', ')}): name one with --kubeconfig`);
  return list[0] ?? join(env.HOME || homedir(), '.kube', 'config');
}

/** The context names of a kubeconfig, in file order. */
export function contextNames(text: string): string[] {
  const doc = parse(text) as { contexts?: { name?: string }[] } | null;
  return (doc?.contexts ?? []).map((c) => c.name).filter((n): n is string => typeof n === 'string');
}

export function withContext(text: string, context: string, path: string): string {
  const doc = parse(text) as { contexts?: { name?: string }[]; 'current-context'?: string };
  const names = contextNames(text);
  if (!names.includes(context))
    throw new UsageError(`--context ${context} is not a context of ${path}: expected one of ${names.join(', ')}`);
  doc['current-context'] = context;
  return stringify(doc);
}
