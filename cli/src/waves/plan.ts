/**
 * The `waves` input of waves.yml: which clusters (GitHub environments) a release goes to, in what
 * order and how many at once, and what a failure does to the clusters already promoted. GitHub cannot
 * create jobs from data, so waves.yml has fixed jobs wave-1..wave-MAX_WAVES, each a matrix over the
 * JSON this plan emits for it; a wave the plan does not use gets '' and its job is skipped.
 *
 *   on-failure: rollback-all        # or stop (default rollback-all)
 *   waves:
 *     - name: canary                # optional, default "wave N"
 *       clusters: [production-eu-1]
 *     - clusters: [production-eu-2, production-us-1]
 *       max-parallel: 2             # optional, default 1
 */
import { parseDocument } from 'yaml';
import { parseEnvironmentName } from '@veloz/shared/records/settings';
import { ParseError } from '@veloz/shared/parse';

/** waves.yml's fixed wave jobs. Raising it means adding a wave-N job there (the tests count them). */
export const MAX_WAVES = 4;
/** GitHub's limit of jobs one matrix can generate. */
const MAX_MATRIX = 256;
/** deploy.yml runs each cluster in <environment>-canary and <environment>-rollback too: 100 minus "-rollback". */
const MAX_ENVIRONMENT_LENGTH = 100 - '-rollback'.length;
const ON_FAILURE = ['rollback-all', 'stop'] as const;
export type OnFailure = (typeof ON_FAILURE)[number];

export interface Wave {
  name: string;
  clusters: string[];
  maxParallel: number;
}

export interface WavePlan {
  onFailure: OnFailure;
  waves: Wave[];
}

export type PlanResult = { plan: WavePlan; errors: [] } | { plan?: undefined; errors: string[] };

const TOP_KEYS = ['on-failure', 'waves'];
const WAVE_KEYS = ['name', 'clusters', 'max-parallel'];

/** Every problem at once, each naming where it is, the value and what is expected. */
export function parseWaves(text: string): PlanResult {
  const doc = parseDocument(text);
  if (doc.errors.length > 0)
    return {
      errors: doc.errors.map(
        (e) => `waves: not YAML (${e.message.split('\n')[0]}): expected a mapping with a waves list`,
      ),
    };
  const root: unknown = doc.toJS();
  if (!isRecord(root) || !Array.isArray(root.waves))
    return { errors: [`waves: ${show(root)}: expected a mapping with a \`waves\` list (see README "Waves")`] };
  const errors: string[] = [];
  for (const key of Object.keys(root))
    if (!TOP_KEYS.includes(key)) errors.push(`waves: unknown key \`${key}\`: expected ${TOP_KEYS.join(' or ')}`);
  const onFailure = root['on-failure'] ?? 'rollback-all';
  if (!(ON_FAILURE as readonly unknown[]).includes(onFailure))
    errors.push(`waves: on-failure ${show(onFailure)}: expected ${ON_FAILURE.join(' or ')}`);
  if (root.waves.length === 0) errors.push('waves: waves is empty: expected 1 to 4 waves');
  if (root.waves.length > MAX_WAVES)
    errors.push(
      `waves: ${root.waves.length} waves: expected at most ${MAX_WAVES} (waves.yml has jobs wave-1..wave-${MAX_WAVES})`,
    );
  const seen = new Map<string, number>();
  const waves = root.waves.map((raw, i) => parseWave(raw, i + 1, seen, errors));
  if (errors.length > 0) return { errors };
  return { plan: { onFailure: onFailure as OnFailure, waves: waves as Wave[] }, errors: [] };
}

function parseWave(raw: unknown, n: number, seen: Map<string, number>, errors: string[]): Wave | undefined {
  const at = `waves: wave ${n}`;
  if (!isRecord(raw)) {
    errors.push(`${at}: ${show(raw)}: expected a mapping with \`clusters\``);
    return undefined;
  }
  for (const key of Object.keys(raw))
    if (!WAVE_KEYS.includes(key)) errors.push(`${at}: unknown key \`${key}\`: expected ${WAVE_KEYS.join(', ')}`);
  const name = raw.name === undefined ? `wave ${n}` : raw.name;
  if (typeof name !== 'string' || !/^[\w .-]{1,40}$/.test(name))
    errors.push(`${at}: name ${show(name)}: expected up to 40 letters, digits, spaces, . _ -`);
  const list = typeof raw.clusters === 'string' ? [raw.clusters] : raw.clusters;
  if (!Array.isArray(list) || list.length === 0) {
    errors.push(`${at}: clusters ${show(raw.clusters)}: expected a list of GitHub environment names`);
    return undefined;
  }
  if (list.length > MAX_MATRIX)
    errors.push(`${at}: ${list.length} clusters: expected at most ${MAX_MATRIX} (one matrix)`);
  const clusters = list.map((c) => String(c));
  for (const cluster of clusters) {
    const problem = environmentProblem(cluster);
    if (problem) errors.push(`${at}: cluster ${show(cluster)}: expected ${problem}`);
    const first = seen.get(cluster.toLowerCase());
    if (first !== undefined)
      errors.push(`${at}: cluster ${cluster} is already in wave ${first}: expected each cluster in one wave`);
    else seen.set(cluster.toLowerCase(), n);
  }
  const maxParallel = raw['max-parallel'] ?? 1;
  if (!Number.isInteger(maxParallel) || (maxParallel as number) < 1 || (maxParallel as number) > MAX_MATRIX)
    errors.push(`${at}: max-parallel ${show(maxParallel)}: expected a whole number from 1 to ${MAX_MATRIX}`);
  return { name: String(name), clusters, maxParallel: Number(maxParallel) };
}

function environmentProblem(name: string): string | undefined {
  try {
    parseEnvironmentName(name);
  } catch (error) {
    if (error instanceof ParseError) return error.expected;
    throw error;
  }
  if (name.length > MAX_ENVIRONMENT_LENGTH)
    return `at most ${MAX_ENVIRONMENT_LENGTH} characters (deploy.yml adds -canary and -rollback)`;
  if (/-(canary|rollback)$/i.test(name))
    return 'the environment of the promotion (production-eu), not its -canary or -rollback companion';
  return undefined;
}

/** The step outputs waves.yml routes on: one JSON matrix per wave job, '' for the unused ones. */
export function planOutputs(plan: WavePlan): Record<string, string> {
  const outputs: Record<string, string> = {
    count: String(plan.waves.length),
    'on-failure': plan.onFailure,
    clusters: JSON.stringify(plan.waves.flatMap((w, i) => w.clusters.map((cluster) => ({ cluster, wave: i + 1 })))),
  };
  for (let n = 1; n <= MAX_WAVES; n++) {
    const wave = plan.waves[n - 1];
    outputs[`wave-${n}`] = wave
      ? JSON.stringify({
          name: wave.name,
          clusters: wave.clusters,
          'max-parallel': Math.min(wave.maxParallel, wave.clusters.length),
        })
      : '';
  }
  return outputs;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  if (value === undefined || value === null) return '(empty)';
  const text = typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
