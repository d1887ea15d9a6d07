/**
 * `veloz-sandbox fault`: the grammar of a fault rule on the command line, and how `fault list` shows
 * one, so anyone can rehearse a bad day (a hung API server, a 503 storm) against a running sandbox.
 */
import type { FaultAction, FaultRule, FaultStatus } from './api/faults';
import { parseDuration } from './engine/degrade';

export const FAULT_USAGE = `  veloz-sandbox fault --kubeconfig FILE add --verbs V[,V] --resources R[,R]
                      (--status CODE [--retry-after S] | --hang | --latency MS | --reset | --watch-gone)
                      [--namespaces N[,N]] [--count N] [--for DURATION]
      Makes the running sandbox misbehave for matching requests: answer CODE, never answer until
      cleared (--hang), answer late, drop the connection, or end watches with 410 Gone. --count: the
      next N matching requests only; --for: for that long (20s, 5m).
  veloz-sandbox fault --kubeconfig FILE list
      Prints the faults in force, one per line.
  veloz-sandbox fault --kubeconfig FILE clear [ID]
      Removes one fault, or all; requests held by --hang are then served.`;

const VERBS = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'] as const;
const ACTION_FLAGS = ['status', 'hang', 'latency', 'reset', 'watch-gone'] as const;
const SWITCHES = new Set(['hang', 'reset', 'watch-gone']);
const VALUED = new Set(['verbs', 'resources', 'namespaces', 'status', 'retry-after', 'latency', 'count', 'for']);

/** Reads `add`'s flags into a rule; throws one message naming the flag, its value and what it takes. */
export function parseFaultRule(args: readonly string[]): FaultRule {
  const flags = readFlags(args);
  const actions = ACTION_FLAGS.filter((a) => flags.has(a));
  if (actions.length !== 1) {
    throw new Error(
      `fault add needs exactly one of --status CODE, --hang, --latency MS, --reset, --watch-gone (got ${
        actions.length ? actions.map((a) => `--${a}`).join(' ') : 'none'
      })`,
    );
  }
  const verbs = list(flags, 'verbs');
  for (const v of verbs ?? []) {
    if (!(VERBS as readonly string[]).includes(v)) throw new Error(`--verbs: "${v}" is not one of ${VERBS.join(', ')}`);
  }
  const resources = list(flags, 'resources');
  for (const r of resources ?? []) {
    if (!/^[a-z0-9.-]+(\/[a-z]+)?$/.test(r))
      throw new Error(`--resources: "${r}" is not a plural resource name such as deployments or pods/log`);
  }
  const action = actionOf(actions[0]!, flags);
  if (action.type === 'watch-gone' && verbs && !verbs.includes('watch'))
    throw new Error('--watch-gone ends watches only: add watch to --verbs');
  const count = flags.get('count');
  const duration = flags.get('for');
  const namespaces = list(flags, 'namespaces');
  return {
    ...(verbs ? { verbs } : {}),
    ...(resources ? { resources } : {}),
    ...(namespaces ? { namespaces } : {}),
    action,
    ...(count !== undefined ? { count: positiveInteger('count', count) } : {}),
    ...(duration !== undefined ? { durationMs: durationOf(duration) } : {}),
  };
}

function actionOf(flag: (typeof ACTION_FLAGS)[number], flags: Map<string, string>): FaultAction {
  switch (flag) {
    case 'status': {
      const code = Number(flags.get('status'));
      if (!Number.isInteger(code) || code < 400 || code > 599)
        throw new Error(`--status: "${flags.get('status')}" is not an HTTP error code (400-599)`);
      const retryAfter = flags.get('retry-after');
      return {
        type: 'status',
        code,
        ...(retryAfter !== undefined ? { retryAfterSeconds: positiveInteger('retry-after', retryAfter) } : {}),
      };
    }
    case 'latency':
      return { type: 'latency', ms: positiveInteger('latency', flags.get('latency') ?? '') };
    case 'hang':
      return { type: 'hang' };
    case 'reset':
      return { type: 'reset' };
    case 'watch-gone':
      return { type: 'watch-gone' };
  }
}

function readFlags(args: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const eq = arg.indexOf('=');
    const key = arg.startsWith('--') ? (eq > 0 ? arg.slice(2, eq) : arg.slice(2)) : '';
    if (SWITCHES.has(key)) {
      flags.set(key, 'true');
    } else if (VALUED.has(key)) {
      const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined || value === '') throw new Error(`--${key} needs a value`);
      flags.set(key, value);
    } else {
      throw new Error(`fault add does not take "${arg}"`);
    }
  }
  return flags;
}

function list(flags: Map<string, string>, key: string): string[] | undefined {
  const value = flags.get(key);
  if (value === undefined) return undefined;
  const items = value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  if (items.length === 0) throw new Error(`--${key} needs at least one value`);
  return items;
}

function positiveInteger(key: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1) throw new Error(`--${key}: "${text}" is not a positive whole number`);
  return n;
}

function durationOf(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new Error(`--for: "${text}" is not a duration such as 30s, 5m or 1m30s`);
  return ms;
}

/** One line of `fault list`: id, what it matches, what it does, what is left of it. */
export function formatFault(f: FaultStatus): string {
  const a = f.action;
  const what =
    a.type === 'status'
      ? `status ${a.code}${a.retryAfterSeconds !== undefined ? ` (Retry-After ${a.retryAfterSeconds}s)` : ''}`
      : a.type === 'latency'
        ? `latency ${a.ms}ms`
        : a.type === 'watch-close'
          ? `watch-close after ${a.afterMs}ms${a.abrupt ? ' (abrupt)' : ''}`
          : a.type;
  const left = [
    f.remaining !== undefined ? `${f.remaining} left` : '',
    f.expiresAt ? `until ${f.expiresAt}` : '',
    a.type === 'hang' ? `${f.hanging} request(s) held` : '',
  ].filter(Boolean);
  return [
    `${f.id}`,
    `verbs=${f.verbs?.join(',') ?? '*'}`,
    `resources=${f.resources?.join(',') ?? '*'}`,
    ...(f.namespaces ? [`namespaces=${f.namespaces.join(',')}`] : []),
    what,
    ...left,
  ].join('  ');
}
