import { InputError, type InputReader } from '@veloz/shared/inputs';
import {
  ParseError,
  parseDnsSubdomain,
  parseInteger,
  parseIsoTime,
  parseJson,
  parsePercentage,
  parseTrafficWeight,
  parseUrl,
} from '@veloz/shared/parse';
import {
  readEngineSessions,
  readPostgresUrl,
  readSentinels,
  type EngineSessions,
  type SentinelInputs,
} from '@veloz/shared/data-tier/inputs';
import { selectChecks } from '@veloz/shared/selection';
import { IN_CLUSTER, readTarget, type TargetSettings } from '@veloz/shared/target';
import { secretRegistry } from '@veloz/shared/secrets';
import { SLO_METRICS, type SloAlert, type SloExpected, type SloQueries, type SloUnit } from '@veloz/shared/runbook';

const VALIDATE_CHECKS = [
  'health',
  'smoke',
  'metrics',
  'order',
  'sse',
  'websocket',
  'slo',
  'logs',
  'consistency',
  'postgres',
  'redis',
  'traffic-share',
] as const;
export type ValidateCheckName = (typeof VALIDATE_CHECKS)[number];

/** Where the engine is reached: directly, or through the API server's pod or service proxy. */
type Endpoint =
  | { kind: 'url'; url: string }
  | { kind: 'pod'; pod: string; port: string }
  | { kind: 'service'; service: string; port: string };

const COMPARATORS = ['exists', 'number', 'equals', 'not-equals', 'gt', 'gte', 'lt', 'lte', 'contains'] as const;
export type Comparator = (typeof COMPARATORS)[number];

export interface SmokeAssertion {
  path: string;
  field: string;
  comparator: Comparator;
  value?: string | number | boolean;
}

export interface SloSettings {
  prometheusUrl: string;
  queries: SloQueries;
  expected: SloExpected;
  alert: SloAlert;
  nodata: 'warn' | 'fail';
}

/** The fast-burn rule (runbook §4.1 "critical bug: user-impacting"); undefined when switched off. */
interface FastBurnSettings {
  errorRate: number;
  windowMs: number;
  minRequests: number;
}

/** Runbook §3.3's two columns as set by the inputs; they apply with and without Prometheus. */
interface MonitoringThresholds {
  expected: SloSettings['expected'];
  alert: SloSettings['alert'];
}

export interface DecisionSettings {
  consecutiveHealthFailures: number;
  errorRate: number;
  errorRateForMs: number;
  p99Ms: number;
  p99ForMs: number;
  p99BreachAction: 'rollback' | 'warn';
  fastBurn?: FastBurnSettings;
}

/** The data tier after the deploy (runbook §3.4 items 8–10). */
interface DataTierSettings {
  postgres?: {
    url: string;
    minStandbys: number;
    maxReplicationLagBytes: number;
    sessions: EngineSessions;
    /** The engine's sessions before the deploy (preflight's output); unset: the first pass's count. */
    baselineConnections?: number;
    band: number;
  };
  redis?: SentinelInputs & { testPrefix: string };
}

export interface ValidateSettings {
  target: TargetSettings;
  endpoint: Endpoint;
  checks: ValidateCheckName[];
  checkTimeoutMs: number;
  healthPaths: string[];
  smoke: SmokeAssertion[];
  metricsPrefix: string;
  testToken?: string;
  order: Record<string, unknown>;
  sse: { minEvents: number; timeoutMs: number };
  websocketTimeoutMs: number;
  slo?: SloSettings;
  thresholds: MonitoringThresholds;
  logs: { pattern: string; threshold: number; since?: Date; limitBytes: number };
  consistency: { postgresUrl?: string; query?: string; url?: string };
  dataTier: DataTierSettings;
  durationMs: number;
  intervalMs: number;
  decision: DecisionSettings;
  baseline?: string;
  baselineGate: boolean;
  failOnRollback: boolean;
  /** With a traffic router: what the canary set on the route, to measure against. */
  trafficShare?: { weight: number; greenVersion: string; header: string; requestsPerPass: number; path: string };
}

export const DEFAULT_SMOKE: SmokeAssertion[] = [
  { path: '/api/market', field: 'status', comparator: 'exists' },
  { path: '/api/orders_state', field: 'count', comparator: 'number' },
];

export async function parseValidateInputs(
  reader: InputReader,
  mask: (secret: string) => void,
): Promise<ValidateSettings> {
  // Only pod/service targets, the logs check and a baseline read the cluster: validate by URL needs no credential.
  const target = readTarget(reader, mask, { kubeconfig: 'optional' });
  const endpoint = readEndpoint(reader);
  const checkTimeoutMs = reader.duration('check-timeout');
  const functional = await readFunctional(reader);
  const monitoring = readMonitoring(reader);
  const logs = readLogs(reader);
  const postgresUrl = readPostgresUrl(reader);
  const consistency = readConsistency(reader, postgresUrl);
  const dataTier = readDataTier(reader, postgresUrl);
  const durationMs = reader.duration('duration');
  const intervalMs = reader.duration('interval');
  if (intervalMs <= 0) throw new InputError('interval', reader.text('interval'), 'a duration above zero, such as 30s');
  const decision = readDecision(reader);
  const baseline = reader.parsed('baseline', parseDnsSubdomain);
  const baselineGate = reader.boolean('baseline-gate');
  const failOnRollback = reader.boolean('fail-on-rollback');
  if (baselineGate && !baseline)
    throw new InputError('baseline', '', 'a baseline target because baseline-gate is true');

  const trafficShare = readTrafficShare(reader);
  const checks = selectChecks(reader, VALIDATE_CHECKS, (name) => {
    switch (name) {
      case 'traffic-share':
        if (!trafficShare) return 'set `canary-weight` and `canary-version`';
        return endpoint.kind === 'url' ? undefined : 'a `url` target: the production entrance (the Gateway)';
      case 'order':
        return functional.testToken ? undefined : 'set `test-token`';
      case 'slo':
        return monitoring.slo ? undefined : 'set `prometheus-url`';
      case 'logs':
        return endpoint.kind === 'url'
          ? 'a `pod` or `service` target (logs are read through the API server)'
          : undefined;
      case 'consistency':
        return (postgresUrl && consistency.query) || consistency.url
          ? undefined
          : 'set `postgres-url` with `consistency-query`, or `consistency-url`';
      case 'postgres':
        return dataTier.postgres ? undefined : 'set `postgres-url`';
      case 'redis':
        return dataTier.redis ? undefined : 'set `sentinel-addresses`';
      default:
        return undefined;
    }
  });

  requireClusterWhereNeeded(reader, target, clusterNeeds(endpoint, checks, baseline));

  return {
    target,
    endpoint,
    checks,
    checkTimeoutMs,
    ...functional,
    ...monitoring,
    logs,
    consistency,
    dataTier,
    durationMs,
    intervalMs,
    decision,
    baseline,
    baselineGate,
    failOnRollback,
    trafficShare,
  };
}

/** The weighted canary's settings (canary outputs `canary-weight`, the version it deployed). */
function readTrafficShare(reader: InputReader): ValidateSettings['trafficShare'] {
  const weight = reader.parsed('canary-weight', parseTrafficWeight);
  const greenVersion = reader.optional('canary-version');
  const header = reader.must('version-header', (text) => {
    if (!/^[A-Za-z0-9-]+$/.test(text)) throw new ParseError('an HTTP header name such as X-Veloz-Version');
    return text;
  });
  const requestsPerPass = reader.integer('share-requests', 1, 1000);
  const path = reader.must('share-path', (text) => {
    if (!text.startsWith('/')) throw new ParseError('a request path such as /api/market');
    return text;
  });
  if (weight === undefined && !greenVersion) return undefined;
  if (weight === undefined)
    throw new InputError(
      'canary-weight',
      '',
      'the route weight the canary set, such as 5%, because canary-version is set',
    );
  if (!greenVersion)
    throw new InputError('canary-version', '', 'the version green runs, such as 1.1.0, because canary-weight is set');
  return { weight, greenVersion, header, requestsPerPass, path };
}

/** What in these settings is read through the Kubernetes API, in words for the error. */
function clusterNeeds(endpoint: Endpoint, checks: readonly ValidateCheckName[], baseline?: string): string[] {
  return [
    endpoint.kind === 'pod' ? `\`pod: ${endpoint.pod}\`` : undefined,
    endpoint.kind === 'service' ? `\`service: ${endpoint.service}\`` : undefined,
    checks.includes('logs') ? 'the `logs` check' : undefined,
    baseline ? `\`baseline: ${baseline}\`` : undefined,
  ].filter((need): need is string => need !== undefined);
}

function requireClusterWhereNeeded(reader: InputReader, target: TargetSettings, needs: string[]): void {
  if (needs.length === 0 || target.kubeconfig !== undefined || target.inCluster) return;
  const expected =
    `kubeconfig content (e.g. \${{ secrets.KUBECONFIG }}), a KUBECONFIG variable naming a file, or \`${IN_CLUSTER}\`, ` +
    `because ${needs.length > 1 ? `${needs.slice(0, -1).join(', ')} and ${needs.at(-1)} are` : `${needs[0]} is`} ` +
    'read through the Kubernetes API ' +
    '(a `url` target with its own checks needs no cluster credential)';
  reader.fail(new InputError('kubeconfig', '', expected));
}

function readEndpoint(reader: InputReader): Endpoint {
  const url = reader.url('url');
  const pod = reader.parsed('pod', parseDnsSubdomain);
  const service = reader.parsed('service', parseDnsSubdomain);
  const port = reader.must('port', (t) => {
    if (!/^(\d{1,5}|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/.test(t)) throw new ParseError('a port number or port name');
    return t;
  });
  const chosen = (
    [
      ['url', url?.toString()],
      ['pod', pod],
      ['service', service],
    ] as const
  ).filter(([, v]) => v);
  if (chosen.length === 0) {
    throw new InputError('url', '', 'one target: set `url`, `pod` (a pod name or `canary`) or `service`');
  }
  if (chosen.length > 1) {
    const [[first], [second, value]] = chosen as unknown as [[string], [string, string]];
    throw new InputError(
      second,
      value,
      `no second target: \`${first}\` is set too; use exactly one of url, pod or service`,
    );
  }
  return url
    ? { kind: 'url', url: url.toString().replace(/\/$/, '') }
    : pod
      ? { kind: 'pod', pod, port }
      : { kind: 'service', service: service ?? '', port };
}

/** Runbook §3.1–3.2: health, smoke, metrics, order, SSE and WebSocket. */
async function readFunctional(reader: InputReader) {
  const healthPaths = reader.list('health-paths').map((p) => pathOf('health-paths', p));
  const smokeText = reader.optional('smoke');
  const smoke = smokeText === undefined ? DEFAULT_SMOKE : await parseSmoke(smokeText);
  const metricsPrefix = reader.text('metrics-prefix', { required: true });
  const testToken = reader.optional('test-token', { secret: true });
  const order = reader.must('order', (t) => {
    const value = parseJson(t, 'JSON object');
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ParseError('a JSON object');
    return value as Record<string, unknown>;
  });
  const sse = { minEvents: reader.integer('sse-min-events', 1, 10_000), timeoutMs: reader.duration('sse-timeout') };
  const websocketTimeoutMs = reader.duration('websocket-timeout');
  return { healthPaths, smoke, metricsPrefix, testToken, order, sse, websocketTimeoutMs };
}

/** Runbook §3.3: the Prometheus queries and both threshold columns (which apply without Prometheus too). */
function readMonitoring(reader: InputReader): { slo?: SloSettings; thresholds: MonitoringThresholds } {
  const prometheusUrl = reader.url('prometheus-url');
  const queries = Object.fromEntries(
    SLO_METRICS.map((m) => [m.query, reader.text(`query-${m.input}`, { required: true })]),
  ) as SloQueries;
  const expected = Object.fromEntries(
    SLO_METRICS.flatMap((m) =>
      'expected' in m ? [[m.key, readSloFigure(reader, `expected-${m.input}`, m.unit)]] : [],
    ),
  ) as SloExpected;
  const alert = Object.fromEntries(
    SLO_METRICS.map((m) => [m.key, readSloFigure(reader, `alert-${m.input}`, m.unit)]),
  ) as SloAlert;
  const nodata = reader.choice('nodata', ['warn', 'fail'] as const);
  return {
    slo: prometheusUrl
      ? { prometheusUrl: prometheusUrl.toString().replace(/\/$/, ''), queries, expected, alert, nodata }
      : undefined,
    thresholds: { expected, alert },
  };
}

function readSloFigure(reader: InputReader, input: string, unit: SloUnit): number {
  if (unit === 'fraction') return reader.percentage(input);
  if (unit === 'ms') return reader.duration(input);
  return reader.integer(input, 0);
}

function readLogs(reader: InputReader): ValidateSettings['logs'] {
  const pattern = reader.must('log-pattern', (t) => {
    try {
      new RegExp(t, 'i');
    } catch (error) {
      throw new ParseError(`a regular expression (${(error as Error).message})`);
    }
    return t;
  });
  const threshold = reader.integer('log-threshold', 0);
  const limitBytes = reader.byteSize('log-limit');
  const since = reader.parsed('since', parseIsoTime);
  return { pattern, threshold, since, limitBytes };
}

function readConsistency(reader: InputReader, postgresUrl: string | undefined): ValidateSettings['consistency'] {
  const query = reader.optional('consistency-query');
  const url = reader.optional('consistency-url');
  if (url && !url.startsWith('/')) parseUrlFor('consistency-url', url);
  if (url) secretRegistry.addUrl(new URL(url, 'http://path.invalid').href);
  return { postgresUrl, query, url };
}

/** Runbook §3.4 items 8–10 after the deploy: PostgreSQL replication and connections, Redis Sentinel. */
function readDataTier(reader: InputReader, postgresUrl: string | undefined): DataTierSettings {
  const minStandbys = reader.integer('min-standbys', 0, 32);
  const maxReplicationLagBytes = reader.byteSize('max-replication-lag');
  const sessions = readEngineSessions(reader);
  const baselineConnections = reader.parsed('postgres-connections', (t) => parseInteger(t, 0));
  const band = reader.percentage('connections-band');
  const redis = readSentinels(reader);
  const testPrefix = reader.must('redis-test-prefix', (t) => {
    if (/\s/.test(t) || t.length > 200)
      throw new ParseError('a key prefix without spaces, such as veloz:deploy-check:');
    return t;
  });
  return {
    postgres: postgresUrl
      ? { url: postgresUrl, minStandbys, maxReplicationLagBytes, sessions, baselineConnections, band }
      : undefined,
    redis: redis ? { ...redis, testPrefix } : undefined,
  };
}

function readDecision(reader: InputReader): DecisionSettings {
  return {
    consecutiveHealthFailures: reader.integer('rollback-consecutive-health-failures', 0, 1000),
    errorRate: reader.percentage('rollback-error-rate'),
    errorRateForMs: reader.duration('rollback-error-rate-for'),
    p99Ms: reader.duration('rollback-p99'),
    p99ForMs: reader.duration('rollback-p99-for'),
    p99BreachAction: reader.choice('p99-breach-action', ['rollback', 'warn'] as const),
    fastBurn: readFastBurn(reader),
  };
}

/** `fast-burn-error-rate: off` switches the rule off; the window and minimum then go unread. */
function readFastBurn(reader: InputReader): FastBurnSettings | undefined {
  const errorRate = reader.must('fast-burn-error-rate', (t) => {
    if (/^off$/i.test(t)) return undefined;
    const expected = 'a percentage above 0% such as 50%, or `off`';
    let n: number;
    try {
      n = parsePercentage(t);
    } catch {
      throw new ParseError(expected);
    }
    if (n <= 0) throw new ParseError(expected);
    return n;
  });
  if (errorRate === undefined) return undefined;
  const windowMs = reader.duration('fast-burn-window');
  if (windowMs <= 0) {
    throw new InputError('fast-burn-window', reader.text('fast-burn-window'), 'a duration above zero, such as 1m');
  }
  return { errorRate, windowMs, minRequests: reader.integer('fast-burn-min-requests', 1) };
}

function pathOf(input: string, path: string): string {
  if (!path.startsWith('/')) throw new InputError(input, path, 'paths starting with /, such as /health');
  return path;
}

function parseUrlFor(input: string, value: string): void {
  try {
    parseUrl(value);
  } catch (error) {
    if (error instanceof ParseError)
      throw new InputError(input, value, `a path such as /api/consistency or ${error.expected}`);
    throw error;
  }
}

/** JSON first; YAML (loaded lazily, it is not needed on the common path) when the text is not JSON. */
async function parseSmoke(text: string): Promise<SmokeAssertion[]> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const yaml = await import('yaml');
    try {
      value = yaml.parse(text);
    } catch (error) {
      throw new InputError(
        'smoke',
        text,
        `a JSON or YAML list of assertions (${(error as Error).message.split('\n')[0]})`,
      );
    }
  }
  const expected = `a list of {path, field, comparator, value} with comparator one of ${COMPARATORS.join(', ')}`;
  if (!Array.isArray(value) || value.length === 0) throw new InputError('smoke', text, expected);
  return value.map((item: unknown) => {
    const a = item as Partial<SmokeAssertion> | null;
    const ok =
      a &&
      typeof a.path === 'string' &&
      a.path.startsWith('/') &&
      typeof a.field === 'string' &&
      a.field !== '' &&
      COMPARATORS.includes(a.comparator as Comparator) &&
      (['exists', 'number'].includes(a.comparator as string) ||
        ['string', 'number', 'boolean'].includes(typeof a.value));
    if (!ok) throw new InputError('smoke', text, `${expected} (bad entry ${JSON.stringify(item)})`);
    return { path: a.path, field: a.field, comparator: a.comparator, value: a.value } as SmokeAssertion;
  });
}
