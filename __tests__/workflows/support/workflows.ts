/** Loading workflow files and action metadata for the workflow tests. */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

export const ROOT = resolve('.');

export interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}

export interface Job {
  name?: string;
  needs?: string | string[];
  if?: string;
  'runs-on'?: unknown;
  environment?: string | { name: string; url?: string };
  permissions?: unknown;
  outputs?: Record<string, string>;
  steps?: Step[];
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, unknown> | 'inherit';
  concurrency?: string | Concurrency;
}

export interface Concurrency {
  group: string;
  'cancel-in-progress'?: boolean | string;
  /** `max`: up to 100 pending instead of one (GitHub changelog 2026-05-07). */
  queue?: string;
}

export interface InputSpec {
  type?: string;
  required?: boolean;
  default?: unknown;
  options?: string[];
  description?: string;
}

export interface Workflow {
  name?: string;
  on: Record<
    string,
    {
      inputs?: Record<string, InputSpec>;
      secrets?: Record<string, { required?: boolean }>;
      outputs?: Record<string, { value: string }>;
    } | null
  >;
  permissions?: Record<string, string> | string;
  concurrency?: string | Concurrency;
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

export function loadWorkflow(path: string): Workflow {
  return parse(readFileSync(join(ROOT, path), 'utf8')) as Workflow;
}

export function workflowFiles(): string[] {
  return ['.github/workflows', 'examples'].flatMap((dir) =>
    readdirSync(join(ROOT, dir), { recursive: true })
      .map(String)
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => join(dir, f)),
  );
}

export function needsOf(job: Job): string[] {
  return job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs];
}

export interface ActionSpec {
  inputs: Record<string, { required?: boolean; default?: string }>;
  outputs: Record<string, unknown>;
}

export function loadAction(name: string): ActionSpec {
  return parse(readFileSync(join(ROOT, name, 'action.yml'), 'utf8')) as ActionSpec;
}

/** Our actions as workflows reference them: `veloz/deploy-actions/<name>@<ref>` or `./<name>`. */
export function ourAction(uses: string | undefined): string | undefined {
  const m = /^(?:veloz\/deploy-actions\/|\.\/)(preflight|canary|validate|rollback)(?:@.+)?$/.exec(uses ?? '');
  return m?.[1];
}
