/**
 * Figure 5 — validation fan-out: the wall time of every validate check in one pass vs the slowest
 * single check run alone. The checks run concurrently, so one pass should cost about its slowest check.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPrometheus, type Prometheus } from '@veloz/harness/servers/prometheus';
import { NAMESPACE, startBenchCluster } from './cluster';
import { startEngineProcess, type EngineProcess } from './engine-process';
import { ms, progress, ratio, spread, stats, type Section } from './lib';

export const GOAL = 1.2;

export interface FanoutOptions {
  repeats: number;
}

interface ReportJson {
  startedAt: string;
  finishedAt: string;
  checks: { name: string; status: string; durationMs: number }[];
}

export async function fanoutFigure(o: FanoutOptions): Promise<Section> {
  // The sandbox only runs the bundles here (by URL validate needs no cluster); the engine is a process of its own.
  const c = await startBenchCluster({ podStartupDelayMs: 500 });
  const temp = await mkdtemp(join(tmpdir(), 'veloz-bench-fanout-'));
  let prometheus: Prometheus | undefined;
  let engine: EngineProcess | undefined;
  const notes: string[] = [];
  try {
    const testToken = randomBytes(16).toString('hex');
    engine = await startEngineProcess({
      namespace: NAMESPACE,
      podName: 'veloz-engine-fanout',
      image: 'veloz/engine:1.1.0',
      testToken,
      syntheticRequestsPerSecond: 200,
    });
    const checks = ['health', 'smoke', 'metrics', 'order', 'sse', 'websocket'];
    const inputs: Record<string, string> = { url: engine.url, 'test-token': testToken };
    if (existsSync(process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus')) {
      progress('fan-out: starting Prometheus');
      prometheus = await startPrometheus({ targets: [engine.target], scrapeInterval: '1s' });
      await prometheus.waitForTargetsUp();
      // rate() needs two scrapes of every series the slo queries use
      for (const q of ['sum(rate(veloz_http_requests_total[5m]))', 'sum(rate(process_cpu_seconds_total[5m]))']) {
        await prometheus.waitFor(q, (samples) => samples.length > 0, 30_000);
      }
      checks.push('slo');
      inputs['prometheus-url'] = prometheus.url;
    } else {
      notes.push('Prometheus is not installed here, so the slo check was left out.');
    }
    /** One validate pass; its wall time is the report's startedAt → finishedAt (run() from start to verdict). */
    const pass = async (names: string[]): Promise<{ wall: number; step: number; checks: ReportJson['checks'] }> => {
      const r = await c.action('validate', { ...inputs, checks: names.join(', ') }, { env: { RUNNER_TEMP: temp } });
      if (!r.outputs.report) throw new Error(`validate wrote no report: ${r.errors.join(' | ')}`);
      const report = JSON.parse(await readFile(r.outputs.report, 'utf8')) as ReportJson;
      const bad = report.checks.filter((x) => x.status !== 'pass');
      if (bad.length) throw new Error(`validate checks did not pass: ${JSON.stringify(bad)}`);
      return {
        wall: Date.parse(report.finishedAt) - Date.parse(report.startedAt),
        step: r.durationMs,
        checks: report.checks,
      };
    };

    progress(`fan-out: ${checks.length} checks together and alone, ×${o.repeats}`);
    await pass(checks); // warm-up
    const together: { wall: number; step: number; checks: ReportJson['checks'] }[] = [];
    const alone = new Map<string, { wall: number; step: number }[]>(checks.map((n) => [n, []]));
    for (let i = 0; i < o.repeats; i++) {
      together.push(await pass(checks));
      for (const name of checks) alone.get(name)!.push(await pass([name]));
    }
    const all = stats(together.map((t) => t.wall));
    const allStep = stats(together.map((t) => t.step));
    const sumOfChecks = stats(together.map((t) => t.checks.reduce((sum, x) => sum + x.durationMs, 0)));
    const singles = checks.map((name) => ({
      name,
      wall: stats(alone.get(name)!.map((x) => x.wall)),
      step: stats(alone.get(name)!.map((x) => x.step)),
      inPass: stats(together.map((t) => t.checks.find((x) => x.name === name)?.durationMs ?? Number.NaN)),
    }));
    const slowest = singles.reduce((a, b) => (b.wall.median > a.wall.median ? b : a));
    const r = all.median / slowest.wall.median;
    const met = r <= GOAL;
    return {
      key: 'fanout',
      title: '5. Validation fan-out',
      goal: `one pass of every check ≤ ${GOAL}× the slowest single check alone`,
      met,
      verdict:
        `All ${checks.length} checks in one pass: ${ms(all.median)}; the slowest check alone (${slowest.name}): ` +
        `${ms(slowest.wall.median)} → ${ratio(r)}. Run one after another they would take ${ms(sumOfChecks.median)}. ` +
        `${met ? 'Goal met.' : 'Goal not met.'}`,
      tables: [
        {
          caption: `Validation pass wall time (report startedAt → finishedAt), median of ${o.repeats} after one warm-up. Ratio to the slowest single check alone.`,
          columns: ['subject', 'median', 'min', 'max', 'ratio', 'step spawn → exit (median)'],
          rows: [
            [`all ${checks.length} checks, one pass`, ...spread(all), ratio(r), ms(allStep.median)],
            ...singles.map((s) => [
              `${s.name} alone${s === slowest ? ' (slowest)' : ''}`,
              ...spread(s.wall),
              ratio(s.wall.median / slowest.wall.median),
              ms(s.step.median),
            ]),
            ['sum of the check durations inside the full pass (sequential cost)', ...spread(sumOfChecks), '', ''],
          ],
        },
        {
          caption: 'Each check’s own duration inside the full pass (from the report), median.',
          columns: singles.map((s) => s.name),
          rows: [singles.map((s) => ms(s.inPass.median))],
        },
      ],
      method:
        'The validate bundle runs one pass (no `duration`) against one engine double by URL, with the test token, so ' +
        'every check can pass; the engine double runs in a child process of its own (as a real target is its own ' +
        'server), at 200 synthetic requests/s, so the bench’s own work does not share its event loop. The checks: ' +
        `${checks.join(', ')}${prometheus ? ' (slo against a real Prometheus scraping the engine double every 1 s)' : ''}. ` +
        'The wall time of a pass is read from the JSON report the step writes (startedAt → finishedAt of the chapter logic: ' +
        'target, every check, verdict), so the node start-up that both sides share is left out; the step’s whole spawn → exit ' +
        'time is shown too. Each check is then run alone the same way; the ratio compares the full pass with the slowest ' +
        'single check. The full pass and the single checks are interleaved per round. The logs check needs a pod target ' +
        '(and the order check cannot go through the API server proxy, which drops Authorization), and consistency needs a ' +
        'database or a consistency URL that the engine double does not serve, so those two are not in this pass.',
      notes,
    };
  } finally {
    await prometheus?.stop();
    await engine?.stop();
    await c.stop();
    await rm(temp, { recursive: true, force: true });
  }
}
