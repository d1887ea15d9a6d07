import { badRequest } from './errors';
import { getPath, type KubeObject } from '../util';

type Requirement = { key: string; op: 'in' | 'notin'; values: string[] } | { key: string; op: 'exists' | '!exists' };

export type LabelSelector = (labels: Record<string, string> | undefined) => boolean;

/** Parses the labelSelector query syntax: `a=b,c!=d,e in (x,y),f notin (z),g,!h`. */
export function parseLabelSelector(text: string | null | undefined): LabelSelector {
  if (!text || !text.trim()) return () => true;
  const reqs: Requirement[] = [];
  let i = 0;
  const s = text;
  const skipWs = (): void => {
    while (i < s.length && s[i] === ' ') i++;
  };
  const readKey = (): string => {
    skipWs();
    const start = i;
    while (i < s.length && /[A-Za-z0-9._\-/]/.test(s[i] ?? '')) i++;
    return s.slice(start, i);
  };
  while (i < s.length) {
    skipWs();
    let negated = false;
    if (s[i] === '!') {
      negated = true;
      i++;
    }
    const key = readKey();
    if (!key) throw badRequest(`unable to parse requirement: invalid label key in selector "${text}"`);
    skipWs();
    if (negated) {
      reqs.push({ key, op: '!exists' });
    } else if (i >= s.length || s[i] === ',') {
      reqs.push({ key, op: 'exists' });
    } else if (s.startsWith('!=', i)) {
      i += 2;
      reqs.push({ key, op: 'notin', values: [readValue()] });
    } else if (s.startsWith('==', i)) {
      i += 2;
      reqs.push({ key, op: 'in', values: [readValue()] });
    } else if (s[i] === '=') {
      i += 1;
      reqs.push({ key, op: 'in', values: [readValue()] });
    } else {
      const word = readKey();
      if (word !== 'in' && word !== 'notin')
        throw badRequest(`unable to parse requirement: found '${word}', expected: in, notin, =, ==, !=`);
      skipWs();
      if (s[i] !== '(') throw badRequest(`found '${s[i] ?? ''}', expected: '('`);
      const close = s.indexOf(')', i);
      if (close < 0) throw badRequest(`found end of selector, expected: ')'`);
      const values = s
        .slice(i + 1, close)
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
      i = close + 1;
      reqs.push({ key, op: word, values });
    }
    skipWs();
    if (i < s.length) {
      if (s[i] !== ',') throw badRequest(`invalid label selector "${text}"`);
      i++;
    }
  }
  function readValue(): string {
    skipWs();
    const start = i;
    while (i < s.length && s[i] !== ',' && s[i] !== ' ') i++;
    return s.slice(start, i);
  }
  return (labels) => reqs.every((r) => matches(r, labels ?? {}));
}

function matches(r: Requirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  switch (r.op) {
    case 'exists':
      return has;
    case '!exists':
      return !has;
    case 'in':
      return has && r.values.includes(labels[r.key] ?? '');
    case 'notin':
      return !has || !r.values.includes(labels[r.key] ?? '');
  }
}

/** A structured metav1.LabelSelector (matchLabels/matchExpressions) as a predicate. */
export function labelSelectorFromSpec(sel: unknown): LabelSelector {
  if (!sel || typeof sel !== 'object') return () => false; // nil selector selects nothing
  const spec = sel as {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  };
  const reqs: Requirement[] = [];
  for (const [key, value] of Object.entries(spec.matchLabels ?? {})) reqs.push({ key, op: 'in', values: [value] });
  for (const e of spec.matchExpressions ?? []) {
    const op = e.operator.toLowerCase();
    if (op === 'in' || op === 'notin') reqs.push({ key: e.key, op, values: e.values ?? [] });
    else if (op === 'exists') reqs.push({ key: e.key, op: 'exists' });
    else if (op === 'doesnotexist') reqs.push({ key: e.key, op: '!exists' });
  }
  return (labels) => reqs.every((r) => matches(r, labels ?? {}));
}

/** Renders a metav1.LabelSelector as the query string form ("app=x,tier in (a,b)"). */
export function formatLabelSelector(sel: unknown): string {
  if (!sel || typeof sel !== 'object') return '';
  const spec = sel as {
    matchLabels?: Record<string, string>;
    matchExpressions?: { key: string; operator: string; values?: string[] }[];
  };
  const parts = Object.entries(spec.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of spec.matchExpressions ?? []) {
    const op = e.operator.toLowerCase();
    if (op === 'in' || op === 'notin') parts.push(`${e.key} ${op} (${(e.values ?? []).join(',')})`);
    else if (op === 'exists') parts.push(e.key);
    else parts.push(`!${e.key}`);
  }
  return parts.join(',');
}

export type FieldSelector = (obj: KubeObject) => boolean;

/** Parses fieldSelector (`metadata.name=x,status.phase!=Running`); fields are read as dotted paths. */
export function parseFieldSelector(text: string | null | undefined): FieldSelector {
  if (!text || !text.trim()) return () => true;
  const terms = text.split(',').map((term) => {
    const m = /^\s*([A-Za-z0-9_.-]+)\s*(==|!=|=)\s*(.*?)\s*$/.exec(term);
    if (!m) throw badRequest(`invalid field selector: '${term}'`);
    return { field: m[1] as string, negate: m[2] === '!=', value: (m[3] as string).replace(/\\(.)/g, '$1') };
  });
  return (obj) =>
    terms.every((t) => {
      const raw = getPath(obj, t.field);
      const actual = raw === undefined || raw === null ? '' : String(raw);
      return t.negate ? actual !== t.value : actual === t.value;
    });
}
