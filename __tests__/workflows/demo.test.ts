/**
 * `npm run demo`'s success path: both stories through the committed dist bundles on the sandbox.
 * Runs the demo's main() with the output captured (not a TTY: no colour, no progress line).
 */
import { expect, test } from '@jest/globals';
import { main } from '../../scripts/demo/main';

test('both stories end as expected: a good release promoted, a bad one rolled back to 1.1.0', async () => {
  let output = '';
  const result = await main({ driver: 'helm3', out: { write: (text: string) => (output += text) } });

  expect(result.stories.map((s) => s.problems)).toEqual([[], []]);
  expect(result.ok).toBe(true);

  const [good, bad] = result.stories;
  const job = (story: typeof good, name: string) => story!.jobs.find((j) => j.job === name)!;
  expect(good!.jobs.map((j) => `${j.job}:${j.result}`)).toEqual([
    'preflight:success',
    'canary:success',
    'validate-canary:success',
    'promote:success',
    'validate:success',
    'rollback:skipped',
  ]);
  expect(job(good, 'validate').outputs.verdict).toBe('pass');
  expect(job(bad, 'validate-canary').outputs.verdict).toBe('pass');
  expect(job(bad, 'validate').outputs.verdict).toBe('rollback');
  expect(job(bad, 'rollback').result).toBe('success');
  expect(job(bad, 'rollback').outputs['rolled-back-to']).toMatch(/1\.1\.0/);
  // the rollback returned to what preflight saw before the bad deploy
  expect(job(bad, 'rollback').outputs['rolled-back-to']).toContain(
    `revision ${job(bad, 'preflight').outputs['current-revision']}`,
  );

  expect(output).toContain('Story 1');
  // story 1's users through the Gateway: each stream moved once (off a retiring pod), no request failed,
  // and green's share measured next to the weight the canary put on the route
  expect(output).toMatch(
    /users: 40 WebSocket clients: reconnects per client mean \d\.\d\d, max 1 · failed requests 0 of [1-9]\d* · green \(1\.1\.0\) observed share \d+(\.\d+)?% at weight 5%/,
  );
  expect(good!.traffic!.reconnects.max).toBe(1);
  expect(good!.traffic!.requests.failed).toBe(0);
  expect(job(good, 'canary').outputs['canary-weight']).toBe('5%');
  expect(job(good, 'canary').outputs.traffic).toBe('blue 95% / green 5% through HTTPRoute veloz-engine');
  expect(job(good, 'validate-canary').share!.report!.checks.map((c) => `${c.name}:${c.status}`)).toEqual([
    'traffic-share:pass',
  ]);
  // the canary ran side by side: blue's two pods serving beside one green pod
  expect(output).toMatch(
    /pods after the canary[^\n]*\n(\s+blue +veloz-engine-[a-z0-9-]+ +veloz\/engine:1\.0\.0 +Ready\n){2}\s+green +veloz-engine-green-[a-z0-9-]+ +veloz\/engine:1\.1\.0 +Ready\n/,
  );
  // the canary's report ends with what the approver of the promotion is about to allow
  expect(output).toContain('Plan of the coming promote');
  expect(output).toMatch(
    /\$ helm upgrade veloz \S+ -n veloz .*--set-string engine\.image\.tag=1\.1\.0 --set engine\.replicaCount=2 --set autoscaling\.enabled=true/,
  );
  expect(output).toContain('verdict ROLLBACK');
  // the data tier is configured: preflight counted the engine's sessions, and the window's summary
  // decides all ten §3.4 items (none "not checked by this step")
  expect(job(good, 'preflight').outputs['postgres-connections']).toBe('4');
  const checklist = job(good, 'validate').report!.sections.find((s) =>
    s.heading.startsWith('Validation checklist'),
  )!.lines!;
  expect(checklist).toHaveLength(10);
  expect(checklist.filter((l) => l.startsWith('- [x]'))).toHaveLength(10);
  // and the terminal shows the window's error rate and p99 as sparklines with min/max
  expect(output).toMatch(/Error rate per pass, target: [▁▂▃▄▅▆▇█ ]+ min [\d.]+% max [\d.]+%/);
  expect(output).toMatch(/P99 latency per pass, target: [▁▂▃▄▅▆▇█ ]+ min \d+ms max \d+ms/);
  expect(output).toMatch(/✓ Both stories ended as expected in \d+\.\ds\./);
  expect(output).not.toContain('\x1b['); // no colour when not a TTY
}, 240_000);
