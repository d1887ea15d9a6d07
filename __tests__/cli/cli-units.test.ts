/** The CLI and the plan model from source: argument parsing, flag wording, kubeconfig, diff, rendering. */
import { describe, expect, test } from '@jest/globals';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { parseArgs, UsageError } from '../../cli/src/flags';
import { kubeconfigContent } from '../../cli/src/kubeconfig';
import { asFlags, cli } from '../../cli/src/main';
import { columns } from '../../cli/src/report-text';
import { diffManifests, parseManifest } from '@veloz/shared/plan/diff';
import { commandLine, planSections } from '@veloz/shared/plan/model';

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
  - name: prod
    cluster: { server: 'https://127.0.0.1:1', certificate-authority: ca.crt }
  - name: staging
    cluster: { server: 'https://127.0.0.1:2' }
users:
  - name: oncall
    user: { token: s3cr3t-token-value }
contexts:
  - name: prod
    context: { cluster: prod, user: oncall }
  - name: staging
    context: { cluster: staging, user: oncall }
current-context: prod
`;

async function kubeconfigFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'veloz-cli-units-'));
  const path = join(dir, 'config');
  await writeFile(path, KUBECONFIG);
  return path;
}

function capture() {
  let text = '';
  return { out: { write: (t: string) => (text += t), isTTY: false }, text: () => text };
}

describe('argv', () => {
  test('flags by input name, with or without =, bare flags are true, plan takes what to plan', () => {
    const args = parseArgs(['rollback', '--to-revision', '3', '--force', '--reason=a b', '--json']);
    expect(args.command).toBe('rollback');
    expect(Object.fromEntries(args.flags)).toEqual({ 'to-revision': '3', force: 'true', reason: 'a b' });
    expect(args.json).toBe(true);
    expect(parseArgs(['plan', 'promote', '--version', '1.1.0']).planned).toBe('promote');
  });

  test('what cannot be run is a UsageError (exit 2)', () => {
    expect(() => parseArgs(['deploy'])).toThrow(
      new UsageError(
        "unknown command 'deploy': expected one of preflight, canary, promote, validate, rollback, plan, status, waves",
      ),
    );
    expect(() => parseArgs(['plan'])).toThrow(/'plan' needs what to plan/);
    expect(() => parseArgs(['plan', 'validate'])).toThrow(/expected plan canary, plan promote, plan rollback/);
    expect(() => parseArgs(['rollback', '--force', '--force'])).toThrow('--force is given twice');
    expect(() => parseArgs(['rollback', 'now'])).toThrow(/unexpected argument 'now'/);
  });

  test("the action's advice in workflow syntax reads as flags at a terminal", () => {
    const inputs = { force: { description: '' }, 'to-revision': { description: '' } };
    expect(asFlags('re-run with `force: true`, or `to-revision: 3`; keep `other: x`', inputs)).toBe(
      're-run with `--force`, or `--to-revision 3`; keep `other: x`',
    );
  });

  test('columns are padded to the widest cell', () => {
    expect(
      columns([
        ['a', 'bb', 'c'],
        ['ccc', 'd', 'e'],
      ]),
    ).toEqual(['  a    bb  c', '  ccc  d   e']);
  });
});

describe('kubeconfig from the usual places', () => {
  test('--context picks a context; an unknown one lists what exists; relative paths become absolute', async () => {
    const path = await kubeconfigFile();
    const doc = parse(kubeconfigContent(path, 'staging', {})) as Record<string, unknown>;
    expect(doc['current-context']).toBe('staging');
    expect(JSON.stringify(doc)).toContain(resolve(path, '..', 'ca.crt'));
    expect(() => kubeconfigContent(path, 'dev', {})).toThrow(
      `--context dev is not a context of ${path}: expected one of prod, staging`,
    );
  });

  test('KUBECONFIG, else ~/.kube/config; a missing file is a usage error naming where it looked', async () => {
    const path = await kubeconfigFile();
    expect(parse(kubeconfigContent(undefined, undefined, { KUBECONFIG: path }))['current-context']).toBe('prod');
    expect(() => kubeconfigContent(undefined, undefined, { HOME: '/nonexistent' })).toThrow(
      'the kubeconfig /nonexistent/.kube/config cannot be read (ENOENT): pass --kubeconfig FILE',
    );
    expect(() => kubeconfigContent(undefined, undefined, { KUBECONFIG: 'a:b' })).toThrow(/KUBECONFIG lists 2 files/);
  });
});

describe('cli() from source', () => {
  test('--help exits 0; no command exits 2 with the usage', async () => {
    const help = capture();
    expect(await cli(['--help'], { stdout: help.out, stderr: help.out, env: {}, root: '.' })).toBe(0);
    expect(help.text()).toContain('plan <canary|promote|rollback>');
    const rollbackHelp = capture();
    expect(
      await cli(['rollback', '--help'], { stdout: rollbackHelp.out, stderr: rollbackHelp.out, env: {}, root: '.' }),
    ).toBe(0);
    expect(rollbackHelp.text()).toMatch(/--to-revision\s+Revision to return to/);
    expect(rollbackHelp.text()).toMatch(/--timeout\s+\[5m\]/);
    const none = capture();
    expect(await cli([], { stdout: none.out, stderr: none.out, env: {}, root: '.' })).toBe(2);
  });

  test('bad values: every input error at once, exit 2, the kubeconfig token never printed', async () => {
    const path = await kubeconfigFile();
    const err = capture();
    const code = await cli(['rollback', '--kubeconfig', path, '--to-revision', '0', '--lock-ttl', '5s'], {
      stdout: err.out,
      stderr: err.out,
      env: {},
      root: '.',
    });
    expect(code).toBe(2);
    expect(err.text()).toContain("error: Input 'reason' is required but was not set");
    expect(err.text()).toContain('error: Input \'to-revision\' has value "0"');
    expect(err.text()).not.toContain('s3cr3t-token-value');
  });

  test('a VELOZ_<INPUT> variable stands for a flag not given (secrets off the command line)', async () => {
    const path = await kubeconfigFile();
    const err = capture();
    const env = { VELOZ_REASON: 'error rate', VELOZ_POSTGRES_URL: 'mysql://user:pw@db/veloz' };
    expect(await cli(['rollback', '--kubeconfig', path], { stdout: err.out, stderr: err.out, env, root: '.' })).toBe(2);
    expect(err.text()).toBe(
      "error: Input 'postgres-url' has value ***: expected a URL starting with postgres:// or postgresql://.\n",
    );
  });

  test('the subcommand sets phase and plan; setting them again is refused', async () => {
    const err = capture();
    expect(await cli(['promote', '--phase', 'canary'], { stdout: err.out, stderr: err.out, env: {}, root: '.' })).toBe(
      2,
    );
    expect(err.text()).toContain('--phase is set by the command (promote): leave it out');
  });
});

describe('the plan model', () => {
  const deployment = (image: string, replicas?: number) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: veloz-engine, annotations: { meta.helm.sh/release-name: veloz } }
spec:
  ${replicas === undefined ? '' : `replicas: ${replicas}`}
  template: { spec: { containers: [{ name: engine, image: ${image} }] } }
`;
  const secret = (token: string) => `apiVersion: v1
kind: Secret
metadata: { name: veloz-api }
data: { token: ${token} }
`;

  test('changed fields by path; added and removed objects by their spec; Secrets changed, never their values', () => {
    const before = parseManifest(
      `${deployment('e:1.0.0', 2)}---\n${secret('b2xk')}---\nkind: ConfigMap\nmetadata: { name: gone }\ndata: { a: b }\n`,
    );
    const after = parseManifest(
      `${deployment('e:1.1.0')}---\n${secret('bmV3')}---\n# Source: hpa.yaml\nkind: HorizontalPodAutoscaler\nmetadata: { name: veloz-engine }\nspec: { minReplicas: 2 }\n`,
    );
    const changes = diffManifests(before, after);
    expect(changes).toEqual([
      {
        object: 'Deployment/veloz-engine',
        change: 'changed',
        fields: [
          { path: 'spec.replicas', before: '2', after: undefined },
          { path: 'spec.template.spec.containers[0].image', before: 'e:1.0.0', after: 'e:1.1.0' },
        ],
      },
      {
        object: 'Secret/veloz-api',
        change: 'changed',
        fields: [{ path: 'data', before: 'changed', after: '(values not shown)' }],
      },
      {
        object: 'HorizontalPodAutoscaler/veloz-engine',
        change: 'added',
        fields: [{ path: 'spec.minReplicas', after: '2' }],
      },
      { object: 'ConfigMap/gone', change: 'removed', fields: [] },
    ]);
    expect(JSON.stringify(changes)).not.toMatch(/b2xk|bmV3/);
    expect(diffManifests(parseManifest(secret('b2xk')), parseManifest(secret('b2xk')))).toEqual([]);
  });

  test('sections: the commands as typed, where it leads, a table with unset fields named', () => {
    const sections = planSections({
      operation: 'promote',
      commands: [commandLine(['helm', 'upgrade', 'veloz', './chart', '--set', "note=it's on"])],
      target: 'helm revision 5',
      changes: [{ object: 'Deployment/x', change: 'changed', fields: [{ path: 'spec.replicas', before: '1' }] }],
    });
    expect(sections[0]!.lines).toEqual([
      `$ helm upgrade veloz ./chart --set 'note=it'\\''s on'`,
      'Leads to: helm revision 5',
    ]);
    expect(sections[1]!.rows).toEqual([['Deployment/x', 'changed', 'spec.replicas', '1', '(unset)']]);
  });
});
