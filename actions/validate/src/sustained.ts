/**
 * "A share above T for D", decided from the requests behind the samples.
 *
 * - The window is the newest run of samples whose measured spans join up and reach back D; a pass
 *   without counts is skipped (the next span starts at the last good scrape and covers it), a gap in
 *   time between spans ends the window (what happened there is unknown).
 * - Breach: over the whole window the share's 99% lower bound is above T (the pooled requests say it
 *   is above, not just a noisy sample), and no part of the window is clearly at or below T (so one
 *   huge burst inside D is not "for D"). The parts are the window split into up to five runs of
 *   samples; every contiguous stretch of them is tested with a Bonferroni-corrected 99% upper bound.
 * - Clear: the pooled 99% upper bound is at or below T.
 * - Anything else is undecided: too few requests (insufficient), or above T but not throughout
 *   (not sustained).
 */
import { formatDuration } from '@veloz/shared/parse';
import type { Sample } from './sample';
import { pool, wilsonBounds, type Counts } from './stats';

type JudgementState = 'breach' | 'clear' | 'not-sustained' | 'insufficient' | 'short';

export interface Judgement {
  state: JudgementState;
  /** The samples judged, oldest first. */
  window: Sample[];
  counts: Counts;
  lower: number;
  upper: number;
  /** Time the window's spans cover, ms. */
  coveredMs: number;
  /** Start of the first span of the window. */
  since: number;
  /** A stretch clearly at or below the threshold, when one was found. */
  clean?: { from: number; to: number; counts: Counts };
}

/**
 * One-sided confidence of each pooled bound. 99%, not 95%: the window is looked at after every pass,
 * and at 2 rps (600 requests in 5 m) a true 4.5% reached a 95% lower bound above 5% in ~2% of 15-minute
 * windows; at 99% a true 6% at 20 rps is still caught within D + 2 intervals (bench figure 8).
 */
const POOLED_CONFIDENCE = 0.99;
/** Family-wise confidence of the "part of the window clearly below" tests. */
const PARTS_CONFIDENCE = 0.99;
/** The window is cut into at most this many parts for the "throughout D" test. */
const MAX_PARTS = 5;

/** Spans may start this share of a span after the previous pass (scheduling jitter) and still join. */
const JOIN_TOLERANCE = 0.5;
/** A window may fall short of D by this share of its last span (clock jitter between scrapes). */
const COVER_TOLERANCE = 0.1;

export function judgeSustained(
  samples: readonly Sample[],
  countsOf: (s: Sample) => Counts | undefined,
  threshold: number,
  forMs: number,
): Judgement {
  const window = joinedWindow(samples, countsOf, forMs);
  const latest = window.at(-1);
  const first = window[0];
  const counts = pool(window.map((s) => countsOf(s)!));
  const { lower, upper } = wilsonBounds(counts, POOLED_CONFIDENCE);
  const since = first ? spanStart(first) : (samples.at(-1)?.at ?? 0);
  const coveredMs = latest ? spanEnd(latest) - since : 0;
  const base = { window, counts, lower, upper, coveredMs, since };
  if (!latest || counts.total === 0)
    return { ...base, state: latest && covers(base, forMs) ? 'insufficient' : 'short' };
  if (!covers(base, forMs)) return { ...base, state: upper <= threshold ? 'clear' : 'short' };
  if (lower > threshold) {
    const clean = cleanStretch(window, countsOf, threshold);
    return clean ? { ...base, state: 'not-sustained', clean } : { ...base, state: 'breach' };
  }
  return { ...base, state: upper <= threshold ? 'clear' : 'insufficient' };
}

/** When a sample's counts were read (its span's end): the real time, else the scheduled one. */
export function spanEnd(sample: Sample): number {
  return sample.traffic?.end ?? sample.at;
}

/** Where a sample's counts begin. */
export function spanStart(sample: Sample): number {
  return spanEnd(sample) - (sample.traffic?.spanMs ?? 0);
}

function covers(j: { window: Sample[]; coveredMs: number }, forMs: number): boolean {
  const last = j.window.at(-1);
  return last !== undefined && j.coveredMs >= forMs - COVER_TOLERANCE * last.traffic!.spanMs;
}

/** Newest samples with counts whose spans join up, reaching back (just) past latest − D. */
function joinedWindow(
  samples: readonly Sample[],
  countsOf: (s: Sample) => Counts | undefined,
  forMs: number,
): Sample[] {
  const window: Sample[] = [];
  let latest: Sample | undefined;
  for (let i = samples.length - 1; i >= 0; i--) {
    const s = samples[i]!;
    // A pass without counts (its scrape failed) is skipped: the next scrape's span starts at the last
    // good one and covers it. Only a hole in time, checked just below, ends the window.
    if (!s.traffic || !countsOf(s)) continue;
    const next = window[0];
    if (next && spanStart(next) > spanEnd(s) + JOIN_TOLERANCE * next.traffic!.spanMs) break;
    window.unshift(s);
    latest ??= s;
    if (spanStart(s) <= spanEnd(latest) - forMs + COVER_TOLERANCE * latest.traffic!.spanMs) break;
  }
  return window;
}

/**
 * The window split into up to MAX_PARTS runs of samples; every contiguous stretch of parts except the
 * whole is tested for being clearly at or below the threshold (upper bound at 99% family-wise).
 */
function cleanStretch(
  window: readonly Sample[],
  countsOf: (s: Sample) => Counts | undefined,
  threshold: number,
): Judgement['clean'] {
  const parts = Math.min(MAX_PARTS, window.length);
  if (parts < 2) return undefined;
  const bounds = Array.from({ length: parts + 1 }, (_, i) => Math.round((i * window.length) / parts));
  const tests = (parts * (parts + 1)) / 2 - 1;
  const confidence = 1 - (1 - PARTS_CONFIDENCE) / tests;
  for (let a = 0; a < parts; a++) {
    for (let b = a + 1; b <= parts; b++) {
      if (a === 0 && b === parts) continue;
      const stretch = window.slice(bounds[a], bounds[b]);
      const c = pool(stretch.map((s) => countsOf(s)!));
      if (c.total > 0 && wilsonBounds(c, confidence).upper <= threshold) {
        return { from: spanStart(stretch[0]!), to: spanEnd(stretch.at(-1)!), counts: c };
      }
    }
  }
  return undefined;
}

/** "errors 312 of 5,000 requests over the last 5m, 6.2%". */
export function describeCounts(judgement: Judgement, what: string): string {
  const c = judgement.counts;
  const share = c.total > 0 ? `, ${percent(c.bad / c.total)}` : '';
  return `${what} ${c.bad.toLocaleString('en-US')} of ${c.total.toLocaleString('en-US')} requests over the last ${formatDuration(judgement.coveredMs)}${share}`;
}

/** A share as people read it in a report: one decimal below 10%, none above ("6.2%", "48%"). */
export function percent(fraction: number): string {
  const p = fraction * 100;
  if (p === 0) return '0%';
  if (p < 0.1) return `${Number(p.toPrecision(2))}%`;
  return p < 10 ? `${Number(p.toFixed(1))}%` : `${Math.round(p)}%`;
}
