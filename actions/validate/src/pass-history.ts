/**
 * What the report needs from every pass of a monitoring window, in memory that does not grow with the
 * window: the first and last pass, how many ran, the error-rate and p99 chart series down-sampled as the
 * charts are (shared/charts DownsampledSeries), and for a baseline comparison only the four numbers a
 * pass adds to Mann-Whitney's ranks (32 bytes a pass: the test needs every value, 58 KB for 30 m at 1 s).
 */
import { DownsampledSeries } from '@veloz/shared/charts';
import { BASELINE_CHECK, type ComparedValues, type Figure } from './baseline';
import type { Pass } from './monitor';

const FIGURES: readonly Figure[] = ['errorRate', 'p99Ms'];

const finite = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

export class PassHistory {
  count = 0;
  first: Pass | undefined;
  last: Pass | undefined;
  /** Per figure: the target's series (from the pass's sample) and the baseline's (from its check). */
  readonly charts = {
    target: { errorRate: new DownsampledSeries(), p99Ms: new DownsampledSeries() },
    baseline: { errorRate: new DownsampledSeries(), p99Ms: new DownsampledSeries() },
  };
  /** Per figure, the canary's (metrics check) and the baseline's values of every pass that measured one. */
  readonly compared: ComparedValues = {
    metrics: { errorRate: [], p99Ms: [] },
    baseline: { errorRate: [], p99Ms: [] },
  };

  constructor(
    private readonly started: () => number,
    private readonly withBaseline: boolean,
  ) {}

  add(pass: Pass): void {
    this.count++;
    this.first ??= pass;
    this.last = pass;
    const at = pass.at - this.started();
    const baseline = pass.results.find((r) => r.name === BASELINE_CHECK)?.data;
    const metrics = pass.results.find((r) => r.name === 'metrics')?.data;
    for (const figure of FIGURES) {
      this.charts.target[figure].add({ at, value: finite(pass.sample[figure]) ?? null });
      if (!this.withBaseline) continue;
      this.charts.baseline[figure].add({ at, value: finite(baseline?.[figure]) ?? null });
      const canaryValue = finite(metrics?.[figure]);
      const baselineValue = finite(baseline?.[figure]);
      if (canaryValue !== undefined) this.compared.metrics[figure].push(canaryValue);
      if (baselineValue !== undefined) this.compared.baseline[figure].push(baselineValue);
    }
  }
}
