/**
 * The waves input (issue 29 item 1): the parser and validator, the matrix per wave it emits for
 * waves.yml's fixed jobs, the CLI step that reports every problem as its own ::error::, and the
 * release summary (a row per cluster and a Mermaid chart that Mermaid itself parses).
 */
import { describe, expect, test } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from '../../cli/src/main';
import { outcomeOf, promotedClusters, type ClusterOutcome } from '../../cli/src/waves/outcome';
import { MAX_WAVES, parseWaves, planOutputs, type WavePlan } from '../../cli/src/waves/plan';
import { releaseVerdict, renderWaveSummary } from '../../cli/src/waves/summary';
import { parseMermaid } from '../support/mermaid';

const GOOD = `
on-failure: rollback-all
waves:
  - name: canary
    clusters: [production-eu-1]
  - clusters: [production-eu-2, production-us-1, production-us-2]
    max-parallel: 2
  - clusters: production-ap-1
`;

describe('parseWaves', () => {
  test('a good plan: names, clusters, max-parallel, on-failure', () => {
    const { plan, errors } = parseWaves(GOOD);
    expect(errors).toEqual([]);
    expect(plan).toEqual({
      onFailure: 'rollback-all',
      waves: [
        { name: 'canary', clusters: ['production-eu-1'], maxParallel: 1 },
        { name: 'wave 2', clusters: ['production-eu-2', 'production-us-1', 'production-us-2'], maxParallel: 2 },
        { name: 'wave 3', clusters: ['production-ap-1'], maxParallel: 1 },
      ],
    });
    expect(parseWaves('waves: [{ clusters: [a] }]').plan?.onFailure).toBe('rollback-all');
    expect(parseWaves('on-failure: stop\nwaves: [{ clusters: [a] }]').plan?.onFailure).toBe('stop');
  });

  test('every problem at once, each naming where, the value and what is expected', () => {
    const { errors } = parseWaves(`
on-failure: rollback-some
colour: blue
waves:
  - clusters: [production-eu, "bad name!", production-eu-canary]
    max-parallel: 0
    region: eu
  - clusters: []
  - clusters: [PRODUCTION-EU]
    max-parallel: two
  - just a string
`);
    expect(errors).toEqual([
      'waves: unknown key `colour`: expected on-failure or waves',
      'waves: on-failure "rollback-some": expected rollback-all or stop',
      'waves: wave 1: unknown key `region`: expected name, clusters, max-parallel',
      'waves: wave 1: cluster "bad name!": expected an environment name such as production or staging-eu (letters, digits, . _ -, at most 100)',
      'waves: wave 1: cluster "production-eu-canary": expected the environment of the promotion (production-eu), not its -canary or -rollback companion',
      'waves: wave 1: max-parallel 0: expected a whole number from 1 to 256',
      'waves: wave 2: clusters []: expected a list of GitHub environment names',
      'waves: wave 3: cluster PRODUCTION-EU is already in wave 1: expected each cluster in one wave',
      'waves: wave 3: max-parallel "two": expected a whole number from 1 to 256',
      'waves: wave 4: "just a string": expected a mapping with `clusters`',
    ]);
  });

  test('not YAML, not a mapping, no waves, too many waves', () => {
    expect(parseWaves('waves: [unclosed').errors[0]).toMatch(/^waves: not YAML \(.+\): expected a mapping/);
    expect(parseWaves('').errors).toEqual([
      'waves: (empty): expected a mapping with a `waves` list (see README "Waves")',
    ]);
    expect(parseWaves('- production').errors[0]).toContain('expected a mapping with a `waves` list');
    expect(parseWaves('waves: []').errors).toEqual(['waves: waves is empty: expected 1 to 4 waves']);
    const five = `waves:\n${[1, 2, 3, 4, 5].map((i) => `  - clusters: [c${i}]`).join('\n')}`;
    expect(parseWaves(five).errors).toEqual(['waves: 5 waves: expected at most 4 (waves.yml has jobs wave-1..wave-4)']);
    expect(MAX_WAVES).toBe(4);
  });
});

describe('planOutputs: one matrix per wave job', () => {
  test('a JSON matrix for each used wave, max-parallel capped at its size, empty for the rest', () => {
    const outputs = planOutputs(parseWaves(GOOD).plan!);
    expect(outputs.count).toBe('3');
    expect(outputs['on-failure']).toBe('rollback-all');
    expect(JSON.parse(outputs['wave-1']!)).toEqual({
      name: 'canary',
      clusters: ['production-eu-1'],
      'max-parallel': 1,
    });
    expect(JSON.parse(outputs['wave-2']!)).toEqual({
      name: 'wave 2',
      clusters: ['production-eu-2', 'production-us-1', 'production-us-2'],
      'max-parallel': 2,
    });
    expect(outputs['wave-4']).toBe('');
    expect(JSON.parse(outputs.clusters!)).toHaveLength(5);
    for (const value of Object.values(outputs)) expect(value).not.toContain('\n'); // one GITHUB_OUTPUT line each
    const wide = planOutputs(parseWaves('waves: [{ clusters: [a, b], max-parallel: 10 }]').plan!);
    expect(JSON.parse(wide['wave-1']!)['max-parallel']).toBe(2);
  });
});

describe('veloz-deploy waves plan (the plan job step)', () => {
  async function step(waves: string) {
    const dir = await mkdtemp(join(tmpdir(), 'veloz-waves-'));
    const output = join(dir, 'output');
    let stdout = '';
    const io = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: () => 0 }, root: '.' };
    const code = await cli(['waves', 'plan'], { ...io, env: { VELOZ_WAVES: waves, GITHUB_OUTPUT: output } });
    const written = await readFile(output, 'utf8').catch(() => '');
    await rm(dir, { recursive: true, force: true });
    return { code, stdout, written };
  }

  test('writes the outputs to GITHUB_OUTPUT', async () => {
    const run = await step(GOOD);
    expect(run.code).toBe(0);
    expect(run.written).toContain('count=3\n');
    expect(run.written).toContain('wave-1={"name":"canary","clusters":["production-eu-1"],"max-parallel":1}\n');
    expect(run.written).toContain('wave-4=\n');
  });

  test('a bad input: one ::error:: per problem, exit 1, no outputs', async () => {
    const run = await step('on-failure: maybe\nwaves:\n  - clusters: [a]\n  - clusters: [a]\n');
    expect(run.code).toBe(1);
    expect(run.stdout.split('\n').filter((l) => l.startsWith('::error'))).toEqual([
      '::error title=waves::waves: on-failure "maybe": expected rollback-all or stop',
      '::error title=waves::waves: wave 2: cluster a is already in wave 1: expected each cluster in one wave',
    ]);
    expect(run.written).toBe('');
  });

  test('an unknown step is a usage error', async () => {
    let stderr = '';
    const io = { stdout: { write: () => 0 }, stderr: { write: (t: string) => (stderr += t) }, env: {}, root: '.' };
    expect(await cli(['waves', 'launch'], io)).toBe(2);
    expect(stderr).toContain("'waves launch': expected waves plan, waves outcome, waves summary");
  });
});

const RUN = 'https://github.com/veloz/veloz/actions/runs/99';
const status = (state: string, description: string, at: string, log = RUN) => ({
  state,
  description,
  log_url: log,
  created_at: at,
});

describe('outcomeOf: what a cluster did in this run, from its deployment records', () => {
  const record = (version: string, ...statuses: ReturnType<typeof status>[]) => ({
    version,
    release: 'veloz',
    statuses,
  });
  const older = record('1.1.0', status('success', 'VeloZ 1.1.0', '2026-11-20T10:00:00Z', 'x'));

  test('promoted: before and after, duration from the first to the last status of this run', () => {
    const ours = record(
      '1.2.0',
      status('success', 'promote of 1.2.0 done', '2026-11-24T11:20:00Z'),
      status('in_progress', 'canary of 1.2.0 started', '2026-11-24T11:00:00Z'),
    );
    expect(outcomeOf([ours, older], '1.2.0', RUN)).toMatchObject({
      verdict: 'promoted',
      before: '1.1.0',
      after: '1.2.0',
      durationMs: 20 * 60_000,
      byRollbackAll: false,
    });
  });

  test('rolled back by rollback-all: after is what the rollback restored', () => {
    const ours = record(
      '1.2.0',
      status('failure', 'Rolled back: rollback-all, VeloZ 1.2.0 failed in a later wave', '2026-11-24T11:40:00Z'),
      status('success', 'promoted', '2026-11-24T11:20:00Z'),
    );
    const restored = {
      ...older,
      statuses: [status('success', 'Restored by rollback', '2026-11-24T11:41:00Z'), ...older.statuses],
    };
    expect(outcomeOf([ours, restored], '1.2.0', RUN)).toMatchObject({
      verdict: 'rolled back',
      byRollbackAll: true,
      before: '1.1.0',
      after: '1.1.0',
    });
  });

  test('statuses of another run do not count; no record means not started', () => {
    const earlier = {
      version: '1.2.0',
      release: 'veloz',
      statuses: [status('success', 'x', '2026-11-01T00:00:00Z', 'other')],
    };
    expect(outcomeOf([earlier, older], '1.2.0', RUN).verdict).toBe('not started');
    expect(outcomeOf([older], '1.2.0', RUN)).toEqual({
      verdict: 'not started',
      byRollbackAll: false,
      before: '1.1.0',
      after: '1.1.0',
    });
  });
});

describe('the release summary', () => {
  const plan: WavePlan = parseWaves(GOOD).plan!;
  const row = (
    cluster: string,
    wave: number,
    verdict: ClusterOutcome['verdict'],
    extra: Partial<ClusterOutcome> = {},
  ) => ({
    cluster,
    wave,
    waveName: plan.waves[wave - 1]!.name,
    verdict,
    byRollbackAll: false,
    environmentUrl: `https://github.com/veloz/veloz/deployments/${cluster}`,
    ...extra,
  });
  const outcomes: ClusterOutcome[] = [
    row('production-eu-1', 1, 'rolled back', {
      byRollbackAll: true,
      before: '1.1.0',
      after: '1.1.0',
      durationMs: 1_260_000,
    }),
    row('production-eu-2', 2, 'rolled back', { before: '1.1.0', after: '1.1.0', durationMs: 300_000 }),
    row('production-us-1', 2, 'rolled back', { byRollbackAll: true, before: '1.1.0', after: '1.1.0' }),
    row('production-us-2', 2, 'not started', { before: '1.1.0', after: '1.1.0' }),
    row('production-ap-1', 3, 'not started'),
  ];

  test('a row per cluster with wave, versions, verdict, duration and links', () => {
    const text = renderWaveSummary(plan, outcomes, { version: '1.2.0', runUrl: RUN });
    expect(text).toContain('## VeloZ 1.2.0 in 3 wave(s): ROLLED BACK');
    expect(text).toContain(
      '| 1 canary | production-eu-1 | 1.1.0 | 1.1.0 | ↩️ rolled back (rollback-all) | 21m | [deployments](https://github.com/veloz/veloz/deployments/production-eu-1) |',
    );
    expect(text).toContain('| 2 wave 2 | production-eu-2 | 1.1.0 | 1.1.0 | ↩️ rolled back | 5m |');
    expect(text).toContain('| 3 wave 3 | production-ap-1 |  |  | ⏸️ not started |  |');
    expect(text.match(/^\| \d /gm)).toHaveLength(5);
  });

  test('the chart: a subgraph per wave in order, a node per cluster; Mermaid parses it', async () => {
    const text = renderWaveSummary(plan, outcomes, { version: '1.2.0', runUrl: RUN });
    const chart = /```mermaid\n([\s\S]+?)```/.exec(text)![1]!;
    expect(chart).toContain('subgraph w1["Wave 1: canary (max 1 at once)"]');
    expect(chart).toContain('w1 --> w2');
    expect(chart).toContain('w2 --> w3');
    expect(chart.match(/:::\w+/g)).toHaveLength(5);
    expect(await parseMermaid(chart)).toBe('flowchart-v2');
  }, 60_000);

  test('the verdict of the whole release; rollback-all takes only the promoted', () => {
    expect(releaseVerdict(outcomes)).toBe('ROLLED BACK');
    expect(releaseVerdict(outcomes.map((o) => ({ ...o, verdict: 'promoted' as const })))).toBe('PROMOTED');
    expect(releaseVerdict([...outcomes, row('x', 3, 'failed')])).toBe('FAILED');
    expect(promotedClusters([row('a', 1, 'promoted'), row('b', 2, 'rolled back'), row('c', 2, 'promoted')])).toEqual([
      'a',
      'c',
    ]);
  });
});
