/**
 * One validate summary, from a real validate run against the engine double, rendered to PNG in a
 * headless Chromium (Debian `chromium`, driven by playwright-core) with Mermaid's browser bundle
 * loaded from node_modules: no network. VELOZ_WRITE_DOCS=1 also writes the error-rate chart to
 * docs/validate-error-rate.png, the image the README shows.
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import type { RunContext } from '@veloz/shared/contract';
import { systemClock } from '@veloz/shared/clock';
import { renderSummary } from '@veloz/shared/report';
import { parseDegrade, startEngine, type EngineHandle } from '../../packages/sandbox/src/engine/index';
import { parseValidateInputs } from '../../actions/validate/src/inputs';
import { run as runValidate } from '../../actions/validate/src/run';
import { inputsWithDefaults } from '../support/settings';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const MERMAID_BUNDLE = resolve('node_modules/mermaid/dist/mermaid.min.js');

type Block = { kind: 'h2' | 'h3' | 'p' | 'pre' | 'mermaid'; text: string };

/** The summary's Markdown as blocks a page can show: headings, paragraphs, tables as text, Mermaid. */
function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '```mermaid') {
      const end = lines.indexOf('```', i + 1);
      out.push({ kind: 'mermaid', text: lines.slice(i + 1, end).join('\n') });
      i = end;
    } else if (line.startsWith('## ')) out.push({ kind: 'h2', text: line.slice(3) });
    else if (line.startsWith('### ')) out.push({ kind: 'h3', text: line.slice(4) });
    else if (line.startsWith('|') || line.startsWith('- [')) out.push({ kind: 'pre', text: line });
    else if (line.trim()) out.push({ kind: 'p', text: line });
  }
  return out;
}

function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

let engine: EngineHandle;
let profile: string;
let browser: BrowserContext | undefined;

beforeAll(async () => {
  // errors climb to 8% two seconds in: the window decides ROLLBACK and the chart shows the climb
  engine = await startEngine({
    namespace: 'veloz',
    podName: 'veloz-engine-green-0',
    image: 'ghcr.io/veloz/engine:1.2.0',
    testToken: 't',
    syntheticRequestsPerSecond: 300,
    behaviour: parseDegrade({ after: '2s', 'error-rate': '8%' }),
  });
  profile = await mkdtemp(join(tmpdir(), 'veloz-chromium-'));
});

afterAll(async () => {
  await browser?.close();
  await engine?.stop();
  await rm(profile, { recursive: true, force: true });
});

test('a validate summary with its charts renders in headless Chromium', async () => {
  const reader = await inputsWithDefaults('validate', {
    url: engine.url,
    checks: 'health,metrics',
    duration: '6s',
    interval: '500ms',
    'rollback-error-rate-for': '2s',
    'fast-burn-error-rate': 'off',
  });
  const settings = await parseValidateInputs(reader, () => undefined);
  const ctx = {
    clock: systemClock,
    log: { info: () => undefined, warning: () => undefined, debug: () => undefined, group: (_n, fn) => fn() },
    workflowRun: {} as RunContext['workflowRun'],
    tempDir: tmpdir(),
  } satisfies RunContext;
  const result = await runValidate(settings, ctx);
  expect(result.outputs.verdict).toBe('rollback');
  expect(result.report.charts?.map((c) => c.title)).toEqual(['Error rate per pass', 'P99 latency per pass']);
  const summary = renderSummary(result.report);
  const page = blocks(summary);
  expect(page.filter((b) => b.kind === 'mermaid')).toHaveLength(2);

  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    viewport: { width: 1000, height: 800 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const tab = await browser.newPage();
  tab.setDefaultTimeout(30_000);
  const requests: string[] = [];
  tab.on('request', (r) => requests.push(r.url()));
  await tab.setContent('<!doctype html><html><body style="font-family: sans-serif; margin: 16px"></body></html>');
  await tab.addScriptTag({ path: MERMAID_BUNDLE });
  const rendered = await tab.evaluate(async (content: Block[]) => {
    // Runs in the page: its DOM, typed just enough here (the project compiles without lib "dom").
    type El = { className: string; textContent: string | null; appendChild(e: El): void } & Queryable;
    type Queryable = {
      querySelector(s: string): El | null;
      querySelectorAll(s: string): Iterable<El> & { length: number };
    };
    const page = globalThis as unknown as {
      mermaid: { initialize(o: object): void; run(): Promise<void> };
      document: Queryable & { createElement(tag: string): El; body: El };
    };
    const { document, mermaid: m } = page;
    for (const b of content) {
      const el = document.createElement(b.kind === 'mermaid' ? 'div' : b.kind);
      if (b.kind === 'mermaid') el.className = 'mermaid';
      el.textContent = b.text;
      document.body.appendChild(el);
    }
    m.initialize({ startOnLoad: false, theme: 'default' });
    await m.run();
    return [...document.querySelectorAll('.mermaid')].map((d) => ({
      svg: d.querySelector('svg') !== null,
      text: d.textContent ?? '',
      plots: d.querySelectorAll('svg .line-plot-0, svg [class*="line-plot"]').length,
      bars: d.querySelectorAll('svg [class*="bar-plot"] rect').length,
    }));
  }, page);
  expect(rendered).toHaveLength(2);
  for (const chart of rendered) {
    expect(chart.svg).toBe(true);
    expect(chart.text).not.toMatch(/Syntax error/i);
    expect(chart.plots).toBeGreaterThanOrEqual(3); // the series and two threshold lines
    expect(chart.text).toMatch(/ROLLBACK \+/); // the verdict's pass is labelled on the x axis
  }
  const png = await tab.screenshot({ fullPage: true, type: 'png' });
  const { width, height } = pngSize(png);
  expect(width).toBeGreaterThanOrEqual(1000);
  expect(height).toBeGreaterThan(600);
  const chartPng = await tab.locator('.mermaid').first().screenshot({ type: 'png' });
  expect(pngSize(chartPng).width).toBeGreaterThan(400);
  await writeFile(join(profile, 'validate-summary.png'), png);
  if (process.env.VELOZ_WRITE_DOCS === '1') await writeFile(resolve('docs/validate-error-rate.png'), chartPng);
  // nothing was fetched: the page and Mermaid came from this process and node_modules
  expect(requests.filter((u) => !u.startsWith('about:') && !u.startsWith('data:'))).toEqual([]);
}, 120_000);
