import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { allowChildEnv, commandEnvNameProblem, setChildKubeconfig } from './child-env';
import { InputError, type InputReader } from './inputs';
import { readKubeconfig } from './kubeconfig';
import { ParseError, parseDnsLabel, parseDnsSubdomain } from './parse';
import { SecretRegistry } from './secrets';

export const DRIVERS = ['helm', 'kubectl'] as const;
export type Driver = (typeof DRIVERS)[number];

/** The `kubeconfig` value that asks for the pod's service account (self-hosted runner in the cluster). */
export const IN_CLUSTER = 'in-cluster';

/** What every action deploys to: the inputs the four actions share, parsed one way. */
export interface TargetSettings {
  /**
   * Kubeconfig content (from the input, or read from $KUBECONFIG); undefined when inCluster, or when
   * the action needs no cluster (validate by URL).
   */
  kubeconfig?: string;
  /** `kubeconfig: in-cluster`: the service account of the pod the runner runs in. */
  inCluster?: boolean;
  namespace: string;
  deployment: string;
  release: string;
  driver: Driver;
  /** Extra variable names child processes receive (`command-env`), beyond PATH, HOME, TZ, LANG. */
  commandEnv: string[];
}

export interface TargetOptions {
  /**
   * `optional`: no kubeconfig input and no KUBECONFIG is no error (validate by URL touches no cluster);
   * the action says which of its inputs need one. Default `required`.
   */
  kubeconfig?: 'required' | 'optional';
  env?: NodeJS.ProcessEnv;
}

export function readTarget(
  reader: InputReader,
  mask: (secret: string) => void,
  options: TargetOptions = {},
): TargetSettings {
  const env = options.env ?? process.env;
  const commandEnv = reader.lines('command-env');
  for (const name of commandEnv) {
    const problem = commandEnvNameProblem(name);
    if (problem) throw new InputError('command-env', name, `one ${problem} per line`);
  }
  allowChildEnv(commandEnv);
  const allowAuthProviderCommands = reader.boolean('allow-auth-provider-commands');
  const kubeconfig = readKubeconfigInput(
    reader,
    mask,
    env,
    allowAuthProviderCommands,
    options.kubeconfig ?? 'required',
  );
  if (kubeconfig.kubeconfig !== undefined || kubeconfig.inCluster)
    setChildKubeconfig(kubeconfig.kubeconfig, kubeconfig.inCluster);
  return {
    ...kubeconfig,
    namespace: reader.must('namespace', parseDnsLabel),
    deployment: reader.must('deployment', parseDnsSubdomain),
    release: reader.must('release', (text) => parseDnsLabel(text, 53)),
    driver: reader.choice('driver', DRIVERS),
    commandEnv,
  };
}

/**
 * The input's content; empty means the file a previous step named in $KUBECONFIG (as
 * azure/k8s-set-context does). Never ~/.kube/config or in-cluster without being asked.
 */
function readKubeconfigInput(
  reader: InputReader,
  mask: (secret: string) => void,
  env: NodeJS.ProcessEnv,
  allowAuthProviderCommands: boolean,
  need: 'required' | 'optional',
): Pick<TargetSettings, 'kubeconfig' | 'inCluster'> {
  if (need === 'optional' && !reader.optional('kubeconfig', { secret: true }) && !env.KUBECONFIG?.trim()) return {};
  try {
    return kubeconfigFrom(reader, mask, env, allowAuthProviderCommands);
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    reader.fail(error); // with every other bad input, not instead of them
    return {};
  }
}

function kubeconfigFrom(
  reader: InputReader,
  mask: (secret: string) => void,
  env: NodeJS.ProcessEnv,
  allowAuthProviderCommands: boolean,
): Pick<TargetSettings, 'kubeconfig' | 'inCluster'> {
  const secrets = new SecretRegistry(mask);
  const input = reader.optional('kubeconfig', { secret: true, keywords: [IN_CLUSTER] });
  if (input === IN_CLUSTER) return { inCluster: true };
  if (input !== undefined) {
    try {
      return { kubeconfig: readKubeconfig(input, secrets, { allowAuthProviderCommands }) };
    } catch (error) {
      if (error instanceof ParseError) throw new InputError('kubeconfig', input, error.expected, true);
      throw error;
    }
  }
  const path = env.KUBECONFIG?.trim();
  const expected = `kubeconfig content (e.g. \${{ secrets.KUBECONFIG }}), a KUBECONFIG variable naming a file, or \`${IN_CLUSTER}\` on a runner inside the cluster`;
  if (!path) throw new InputError('kubeconfig', '', expected);
  const shown = `empty, with KUBECONFIG=${path}`;
  if (path.includes(':'))
    throw new InputError('kubeconfig', shown, `${expected}; KUBECONFIG lists several files: name one`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new InputError('kubeconfig', shown, `${expected}; the file cannot be read (${code})`);
  }
  mask(text);
  try {
    return { kubeconfig: readKubeconfig(text, secrets, { allowAuthProviderCommands, baseDir: dirname(path) }) };
  } catch (error) {
    if (error instanceof ParseError) throw new InputError('kubeconfig', shown, `${error.expected} in that file`);
    throw error;
  }
}
