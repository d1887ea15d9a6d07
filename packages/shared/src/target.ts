import { InputError, type InputReader } from './inputs';
import { parseDnsLabel, parseDnsSubdomain } from './parse';

export const DRIVERS = ['helm', 'kubectl'] as const;
export type Driver = (typeof DRIVERS)[number];

/** What every action deploys to: the inputs the four actions share, parsed one way. */
export interface TargetSettings {
  /** Kubeconfig content; undefined means KUBECONFIG, then ~/.kube/config, then in-cluster. */
  kubeconfig?: string;
  namespace: string;
  deployment: string;
  release: string;
  driver: Driver;
}

// Kubeconfig fields whose values are credentials: masked one by one, because the runner cannot mask
// a multi-line secret as a whole.
const KUBECONFIG_SECRET_KEYS =
  /^\s*-?\s*(token|client-key-data|client-certificate-data|password|id-token|refresh-token|access-token)\s*:\s*["']?([^"'\s]+)/;

export function readTarget(reader: InputReader, mask: (secret: string) => void): TargetSettings {
  const kubeconfig = reader.optional('kubeconfig', { secret: true });
  if (kubeconfig !== undefined) {
    for (const line of kubeconfig.split('\n')) {
      const value = KUBECONFIG_SECRET_KEYS.exec(line)?.[2];
      if (value) mask(value);
    }
    if (!/^\s*clusters\s*:/m.test(kubeconfig) || !/^\s*contexts\s*:/m.test(kubeconfig)) {
      throw new InputError(
        'kubeconfig',
        kubeconfig,
        'the content of a kubeconfig file (YAML with clusters, users and contexts), not a path',
        true,
      );
    }
  }
  return {
    kubeconfig,
    namespace: reader.must('namespace', parseDnsLabel),
    deployment: reader.must('deployment', parseDnsSubdomain),
    release: reader.must('release', (text) => parseDnsLabel(text, 53)),
    driver: reader.choice('driver', DRIVERS),
  };
}
