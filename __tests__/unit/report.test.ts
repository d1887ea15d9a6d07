import { describe, expect, test } from '@jest/globals';
import {
  deploymentCompleteText,
  deploymentStartedText,
  logLineTime,
  rollbackInitiatedText,
} from '@veloz/shared/notifications';
import { emptyReport, renderJson, renderLogLines, renderSummary, statusOf } from '@veloz/shared/report';

const time = new Date('2026-02-23T12:00:00Z');

describe('runbook §5.4 notifications', () => {
  test('DEPLOYMENT STARTED', () => {
    expect(deploymentStartedText({ environment: 'production', version: '1.1.0', time, contact: 'deployer-name' })).toBe(
      [
        'DEPLOYMENT STARTED',
        'Service: VeloZ Production',
        'Version: v1.1.0',
        'Time: 2026-02-23 12:00 UTC',
        'Duration: ~30 minutes',
        'Impact: Minimal (rolling deployment)',
        'Contact: @deployer-name',
      ].join('\n'),
    );
  });

  test('DEPLOYMENT COMPLETE', () => {
    const text = deploymentCompleteText({
      environment: 'production',
      version: 'v1.1.0',
      time: new Date('2026-02-23T12:25:00Z'),
      status: 'SUCCESS',
      validation: 'All checks passed',
    });
    expect(text.split('\n')).toEqual([
      'DEPLOYMENT COMPLETE',
      'Service: VeloZ Production',
      'Version: v1.1.0',
      'Time: 2026-02-23 12:25 UTC',
      'Status: SUCCESS',
      'Validation: All checks passed',
      'Release Notes: n/a',
    ]);
  });

  test('ROLLBACK INITIATED', () => {
    const text = rollbackInitiatedText({
      environment: 'staging',
      fromVersion: '1.1.0',
      toVersion: '1.0.0',
      reason: 'error rate 6.1% for 5m',
      time: new Date('2026-02-23T12:15:00Z'),
      status: 'IN PROGRESS',
      incident: 'https://tickets/INC-1',
    });
    expect(text.split('\n')).toEqual([
      'ROLLBACK INITIATED',
      'Service: VeloZ Staging',
      'From Version: v1.1.0',
      'To Version: v1.0.0',
      'Reason: error rate 6.1% for 5m',
      'Time: 2026-02-23 12:15 UTC',
      'Status: IN PROGRESS',
      'Incident: https://tickets/INC-1',
    ]);
  });

  test('the deployments.log time matches `date -u +%Y-%m-%dT%H:%M:%SZ`', () => {
    expect(logLineTime(new Date('2026-02-23T12:00:05.123Z'))).toBe('2026-02-23T12:00:05Z');
  });
});

describe('report renderings', () => {
  const report = emptyReport('preflight', 'Preflight: production checklist', time);
  report.status = 'failure';
  report.headline = 'Do not deploy: 1 check failed.';
  report.facts.push({ label: 'Release', value: 'veloz (revision 5)' });
  report.checks.push(
    { name: 'cluster', title: 'Cluster healthy', status: 'pass', observed: '2/2 nodes Ready', durationMs: 12 },
    {
      name: 'postgres',
      title: 'Database replication',
      status: 'fail',
      observed: 'lag 3 MB',
      threshold: '≤ 1 MB',
      detail: 'standby a|b\nlagging <behind>',
      durationMs: 40,
    },
  );
  report.nextSteps.push('`kubectl get nodes`');

  test('the summary is a table an approver can read', () => {
    const md = renderSummary(report);
    expect(md).toContain('## ❌ Preflight: production checklist');
    expect(md).toContain('| Cluster healthy | ✅ pass | 2/2 nodes Ready |  |  |');
    // pipes, newlines and HTML in user text cannot break the table or inject markup
    expect(md).toContain(
      '| Database replication | ❌ fail | lag 3 MB | ≤ 1 MB | standby a\\|b<br>lagging &lt;behind&gt; |',
    );
    expect(md).toContain('- `kubectl get nodes`');
  });

  test('JSON and log lines carry the same facts', () => {
    expect(JSON.parse(renderJson(report)).checks[1].observed).toBe('lag 3 MB');
    const lines = renderLogLines(report);
    expect(lines[0]).toBe('Preflight: production checklist: FAILURE — Do not deploy: 1 check failed.');
    expect(lines).toContain('  ❌ postgres (lag 3 MB, threshold ≤ 1 MB) — standby a|b\nlagging <behind>');
  });

  test('statusOf honours fail-on', () => {
    const warn = [{ name: 'w', title: 'w', status: 'warn' as const, durationMs: 0 }];
    expect(statusOf(warn)).toBe('warning');
    expect(statusOf(warn, 'warn')).toBe('failure');
    expect(statusOf([])).toBe('success');
  });
});
