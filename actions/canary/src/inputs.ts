import { InputError, type InputReader } from '@veloz/shared/inputs';
import { ParseError, parseBoolean, parseDnsLabel, parseDnsSubdomain, parseTrafficWeight } from '@veloz/shared/parse';
import { readRecords, type RecordSettings } from '@veloz/shared/records/settings';
import { readRunLimits, type RunLimits } from '@veloz/shared/run-limits';
import { readTarget, type TargetSettings } from '@veloz/shared/target';
import { parseChartReference, parseValuesFile } from '@veloz/shared/workspace';
import type { CanaryTraffic } from '@veloz/shared/kube/green';

export type Phase = 'canary' | 'promote';
/** `side-by-side`: green beside the untouched release (§2.1's diagram); `in-place`: §2.2's literal commands. */
export type Strategy = 'side-by-side' | 'in-place';
/** `none`: the Service alone routes (today's behaviour); `gateway-api`: weights on an HTTPRoute. */
export type TrafficRouter = 'none' | 'gateway-api';

/** Where the canary's traffic comes from when a router sets it by weight. */
export interface RouterSettings {
  kind: 'gateway-api';
  /** HTTPRoute name, in the release namespace. */
  httpRoute: string;
  /** Green's share, a whole percent (blue gets 100 - weight). */
  weight: number;
}

export interface CanarySettings extends RunLimits {
  target: TargetSettings;
  phase: Phase;
  strategy: Strategy;
  canaryTraffic: CanaryTraffic;
  /** Set with `traffic-router: gateway-api`. */
  router?: RouterSettings;
  /** Longest a retiring pod (old blue, green) is given to close its connections at promotion. */
  drainTimeoutMs: number;
  version: string;
  helm: {
    chart?: string;
    valuesFiles: string[];
    set: string[];
    imageTagKey: string;
    replicaKey: string;
    autoscalingKey: string;
  };
  canaryReplicas: number;
  replicas: number;
  image?: string;
  container?: string;
  records: RecordSettings;
  /** `plan: true`: report what would be done, change nothing. */
  plan: boolean;
}

// Helm value paths: dotted keys, optionally indexed (`engine.image.tag`, `containers[0].image`).
const VALUE_KEY = /^[A-Za-z0-9_-]+(\[\d+\])?(\.[A-Za-z0-9_-]+(\[\d+\])?)*$/;
// Image tags per the OCI distribution spec.
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function parseCanaryInputs(reader: InputReader, mask: (secret: string) => void): CanarySettings {
  const target = readTarget(reader, mask);
  const phase = reader.choice('phase', ['canary', 'promote'] as const);
  const strategy = reader.choice('strategy', ['side-by-side', 'in-place'] as const);
  const canaryTraffic = reader.choice('canary-traffic', ['share', 'none'] as const);
  const router = readRouter(reader, strategy);
  const drainTimeoutMs = reader.duration('drain-timeout');
  const version = reader.must('version', (text) => {
    if (!TAG.test(text))
      throw new ParseError('an image tag such as 1.1.0 (letters, digits, _ . -, at most 128 characters)');
    return text;
  });
  const chart = reader.path('chart', parseChartReference);
  const valuesFiles = reader.paths('values-files', parseValuesFile);
  const set = reader.lines('set');
  // Values are often credentials: a bad line is named by its number, the input shown as ***.
  for (const [i, entry] of set.entries()) {
    if (!/^[^=]+=/.test(entry))
      throw new InputError('set', set.join('\n'), `key=value lines (line ${i + 1} has no '=')`, true);
  }
  const valueKey = (name: string): string =>
    reader.must(name, (text) => {
      if (!VALUE_KEY.test(text)) throw new ParseError('a Helm value path such as engine.image.tag');
      return text;
    });
  const imageTagKey = valueKey('image-tag-key');
  const replicaKey = valueKey('replica-key');
  const autoscalingKey = valueKey('autoscaling-key');
  const canaryReplicas = reader.integer('canary-replicas', 1, 1000);
  const replicas = reader.integer('replicas', 1, 10_000);
  const image = reader.optional('image');
  const container = reader.parsed('container', (t) => parseDnsLabel(t));
  const limits = readRunLimits(reader);
  const records = readRecords(reader);

  if (target.driver === 'helm' && !chart) {
    throw new InputError('chart', '', 'a Helm chart reference (e.g. ./infra/helm/veloz) because driver is helm');
  }
  if (target.driver === 'kubectl' && !image) {
    throw new InputError('image', '', 'an image repository (e.g. veloz/veloz-engine) because driver is kubectl');
  }
  if (image && /[:@]/.test(image.split('/').pop() ?? '')) {
    throw new InputError('image', image, 'a repository without tag or digest; the tag comes from `version`');
  }
  if (phase === 'canary' && canaryReplicas > replicas) {
    throw new InputError('canary-replicas', String(canaryReplicas), `at most replicas (${replicas})`);
  }
  return {
    target,
    phase,
    strategy,
    canaryTraffic,
    router,
    drainTimeoutMs,
    version,
    helm: { chart, valuesFiles, set, imageTagKey, replicaKey, autoscalingKey },
    canaryReplicas,
    replicas,
    image,
    container,
    ...limits,
    records,
    plan: reader.parsed('plan', parseBoolean) ?? false,
  };
}

/** `traffic-router`, `http-route`, `canary-weight`: each bad one reported, all at once. */
function readRouter(reader: InputReader, strategy: Strategy): RouterSettings | undefined {
  const kind = reader.choice('traffic-router', ['none', 'gateway-api'] as const);
  const weight = reader.must('canary-weight', parseTrafficWeight, {}, NaN);
  const httpRoute = reader.parsed('http-route', parseDnsSubdomain);
  if (kind !== 'gateway-api') return undefined;
  if (strategy === 'in-place') {
    reader.fail(
      new InputError(
        'traffic-router',
        kind,
        'none with strategy in-place (weights need green beside blue: side-by-side)',
      ),
    );
  }
  if (reader.optional('http-route') === undefined) {
    reader.fail(
      new InputError(
        'http-route',
        '',
        'an HTTPRoute name in the release namespace because traffic-router is gateway-api',
      ),
    );
  }
  return { kind, httpRoute: httpRoute ?? '', weight };
}
