/**
 * Runbook §3.1 API functionality (`curl -s …/api/market | jq '.status'`): GET each path once, then hold its
 * JSON to the assertions. A broken API is user-impacting (§4.1 critical bug): `data.functionalFailure`.
 */
import { type Check, defineCheck } from '@veloz/shared/checks';
import { httpRequest, type HttpEndpoint, type HttpResponse } from '@veloz/shared/http/endpoint';
import type { Comparator, SmokeAssertion } from '../inputs';
import {
  functionalFailure,
  ioTimeout,
  isOk,
  lookup,
  secretsOf,
  show,
  statusLine,
  unreachable,
} from '@veloz/shared/endpoint-checks/common';

interface SmokeCheckOptions {
  assertions: readonly SmokeAssertion[];
  timeoutMs: number;
}

interface AssertionResult {
  path: string;
  field: string;
  comparator: Comparator;
  expected?: string | number | boolean;
  /** The field's value as a short literal, or why there is none. */
  actual: string;
  ok: boolean;
  /** One line naming path, field, expected vs actual. */
  message: string;
}

type Fetched = { json: unknown } | { error: string };

export function smokeCheck(endpoint: HttpEndpoint, opts: SmokeCheckOptions): Check {
  const secrets = secretsOf(endpoint);
  return defineCheck('smoke', 'API smoke tests', opts.timeoutMs, async ({ signal }) => {
    const paths = [...new Set(opts.assertions.map((a) => a.path))];
    const fetched = new Map<string, Fetched>(
      await Promise.all(
        paths.map(async (path): Promise<[string, Fetched]> => {
          let res: HttpResponse;
          try {
            res = await httpRequest(endpoint, {
              path,
              headers: { accept: 'application/json' },
              timeoutMs: ioTimeout(opts.timeoutMs),
              signal,
            });
          } catch (err) {
            return [path, { error: unreachable(endpoint, path, err, signal, secrets) }];
          }
          if (!isOk(res.status)) return [path, { error: `GET ${path} answered ${statusLine(res, secrets)}` }];
          try {
            return [path, { json: JSON.parse(res.body) as unknown }];
          } catch {
            return [
              path,
              { error: `GET ${path} did not answer JSON (${res.headers['content-type'] ?? 'no content type'})` },
            ];
          }
        }),
      ),
    );
    const results = opts.assertions.map((a) => evaluate(a, fetched.get(a.path) as Fetched));
    const failed = results.filter((r) => !r.ok);
    const observed = `${results.length - failed.length}/${results.length} assertions hold`;
    const threshold = opts.assertions.map(describeAssertion).join('; ');
    if (failed.length === 0) return { status: 'pass', observed, threshold, data: { results } };
    const outcome = functionalFailure('smoke', observed, failed.map((r) => r.message).join('\n'), threshold);
    return { ...outcome, data: { ...outcome.data, results } };
  });
}

function evaluate(a: SmokeAssertion, fetched: Fetched): AssertionResult {
  const base = { path: a.path, field: a.field, comparator: a.comparator, expected: a.value };
  if ('error' in fetched) return { ...base, actual: 'no answer', ok: false, message: fetched.error };
  const actual = lookup(fetched.json, a.field);
  const failure = compare(a.comparator, actual, a.value);
  return {
    ...base,
    actual: show(actual),
    ok: failure === undefined,
    message:
      failure === undefined
        ? `GET ${a.path}: ${a.field} ${show(actual)} ${describeExpectation(a)}`
        : `GET ${a.path}: field \`${a.field}\` ${failure}`,
  };
}

/** Undefined when the assertion holds, else "expected …, got …". */
export function compare(comparator: Comparator, actual: unknown, expected: unknown): string | undefined {
  if (actual === undefined || actual === null) {
    return `is ${actual === null ? 'null' : 'missing'}; expected ${describeComparator(comparator, expected)}`;
  }
  const got = `got ${show(actual)}${typeof actual === 'object' ? '' : ` (${typeof actual})`}`;
  const holds = ((): boolean => {
    switch (comparator) {
      case 'exists':
        return true;
      case 'number':
        return typeof actual === 'number' && Number.isFinite(actual);
      case 'equals':
        return same(actual, expected);
      case 'not-equals':
        return !same(actual, expected);
      case 'contains':
        if (typeof actual === 'string') return actual.includes(String(expected));
        return Array.isArray(actual) && actual.some((item) => same(item, expected));
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte': {
        const x = numeric(actual);
        const y = numeric(expected);
        if (x === undefined || y === undefined) return false;
        return comparator === 'gt' ? x > y : comparator === 'gte' ? x >= y : comparator === 'lt' ? x < y : x <= y;
      }
    }
  })();
  return holds ? undefined : `expected ${describeComparator(comparator, expected)}, ${got}`;
}

/** Strict for like types; a YAML `value: 42` still equals a JSON `"42"` (inputs are text). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const scalar = (v: unknown): boolean => ['string', 'number', 'boolean'].includes(typeof v);
  return scalar(a) && scalar(b) && String(a) === String(b);
}

function numeric(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

const WORDS: Record<Comparator, string> = {
  exists: 'to be present',
  number: 'a number',
  equals: '=',
  'not-equals': '≠',
  gt: '>',
  gte: '≥',
  lt: '<',
  lte: '≤',
  contains: 'to contain',
};

function describeComparator(c: Comparator, expected: unknown): string {
  return c === 'exists' || c === 'number' ? WORDS[c] : `${WORDS[c]} ${show(expected)}`;
}

function describeExpectation(a: SmokeAssertion): string {
  return a.comparator === 'exists'
    ? 'present'
    : a.comparator === 'number'
      ? 'is a number'
      : `${WORDS[a.comparator]} ${show(a.value)}`;
}

function describeAssertion(a: SmokeAssertion): string {
  return `${a.path} .${a.field} ${describeExpectation(a)}`;
}
