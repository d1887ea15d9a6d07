/**
 * A small evaluator for the GitHub Actions expression subset our workflows use in `if:`:
 * literals, context paths (needs.validate-canary.result, needs.X.outputs.Y, inputs.x), !, &&, ||,
 * ==, !=, parentheses, and the status functions success(), failure(), cancelled(), always().
 * Semantics follow GitHub's: && and || return an operand, string comparison ignores case, a
 * missing property is null, and an `if:` without a status function is `success() && (…)`.
 */

export type Value = string | number | boolean | null | { [key: string]: Value };

export interface StatusFunctions {
  success(): boolean;
  failure(): boolean;
  cancelled(): boolean;
}

type Node =
  | { kind: 'literal'; value: Value }
  | { kind: 'path'; parts: string[] }
  | { kind: 'call'; name: string; args: Node[] }
  | { kind: 'not'; operand: Node }
  | { kind: 'binary'; op: '&&' | '||' | '==' | '!='; left: Node; right: Node };

type Token = { type: 'op' | 'ident' | 'string' | 'number'; text: string };

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const rest = source.slice(i);
    const space = /^\s+/.exec(rest);
    if (space) {
      i += space[0].length;
      continue;
    }
    const op = /^(&&|\|\||==|!=|!|\(|\)|\.|,)/.exec(rest);
    if (op) {
      tokens.push({ type: 'op', text: op[0] });
      i += op[0].length;
      continue;
    }
    const str = /^'((?:[^']|'')*)'/.exec(rest);
    if (str) {
      tokens.push({ type: 'string', text: (str[1] ?? '').replace(/''/g, "'") });
      i += str[0].length;
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(rest);
    if (num) {
      tokens.push({ type: 'number', text: num[0] });
      i += num[0].length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(rest);
    if (ident) {
      tokens.push({ type: 'ident', text: ident[0] });
      i += ident[0].length;
      continue;
    }
    throw new Error(`unsupported expression syntax at "${rest.slice(0, 20)}" in: ${source}`);
  }
  return tokens;
}

export function parseExpression(source: string): Node {
  const text = source.trim().replace(/^\$\{\{([\s\S]*)\}\}$/, '$1');
  const tokens = tokenize(text);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const take = (text?: string): Token => {
    const t = tokens[pos++];
    if (!t || (text !== undefined && t.text !== text)) throw new Error(`expected ${text ?? 'a token'} in: ${source}`);
    return t;
  };
  const isOp = (text: string): boolean => peek()?.type === 'op' && peek()?.text === text;

  const or = (): Node => {
    let left = and();
    while (isOp('||')) {
      take();
      left = { kind: 'binary', op: '||', left, right: and() };
    }
    return left;
  };
  const and = (): Node => {
    let left = equality();
    while (isOp('&&')) {
      take();
      left = { kind: 'binary', op: '&&', left, right: equality() };
    }
    return left;
  };
  const equality = (): Node => {
    let left = unary();
    while (isOp('==') || isOp('!=')) {
      const op = take().text as '==' | '!=';
      left = { kind: 'binary', op, left, right: unary() };
    }
    return left;
  };
  const unary = (): Node => {
    if (isOp('!')) {
      take();
      return { kind: 'not', operand: unary() };
    }
    return primary();
  };
  const primary = (): Node => {
    const t = take();
    if (t.type === 'op' && t.text === '(') {
      const inner = or();
      take(')');
      return inner;
    }
    if (t.type === 'string') return { kind: 'literal', value: t.text };
    if (t.type === 'number') return { kind: 'literal', value: Number(t.text) };
    if (t.type !== 'ident') throw new Error(`unexpected "${t.text}" in: ${source}`);
    if (t.text === 'true' || t.text === 'false') return { kind: 'literal', value: t.text === 'true' };
    if (t.text === 'null') return { kind: 'literal', value: null };
    if (isOp('(')) {
      take();
      const args: Node[] = [];
      while (!isOp(')')) {
        args.push(or());
        if (isOp(',')) take();
      }
      take(')');
      return { kind: 'call', name: t.text, args };
    }
    const parts = [t.text];
    while (isOp('.')) {
      take();
      parts.push(take().text);
    }
    return { kind: 'path', parts };
  };

  const node = or();
  if (pos !== tokens.length) throw new Error(`trailing tokens in: ${source}`);
  return node;
}

const STATUS = new Set(['success', 'failure', 'cancelled', 'always']);

/** True when the expression calls a status function (else GitHub adds `success() &&`). */
export function usesStatusFunction(node: Node): boolean {
  switch (node.kind) {
    case 'call':
      return STATUS.has(node.name) || node.args.some(usesStatusFunction);
    case 'not':
      return usesStatusFunction(node.operand);
    case 'binary':
      return usesStatusFunction(node.left) || usesStatusFunction(node.right);
    default:
      return false;
  }
}

export function truthy(v: Value): boolean {
  return !(v === false || v === null || v === '' || v === 0 || (typeof v === 'number' && Number.isNaN(v)));
}

function equals(a: Value, b: Value): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  if (typeof a === typeof b || a === null || b === null) return a === b;
  // Mixed types compare as numbers, as GitHub coerces them.
  return Number(a) === Number(b);
}

export function evaluate(node: Node, context: Record<string, Value>, status: StatusFunctions): Value {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'path': {
      let v: Value = context[node.parts[0] ?? ''] ?? null;
      for (const part of node.parts.slice(1)) {
        v = v !== null && typeof v === 'object' ? (v[part] ?? null) : null;
      }
      return v;
    }
    case 'call':
      switch (node.name) {
        case 'success':
          return status.success();
        case 'failure':
          return status.failure();
        case 'cancelled':
          return status.cancelled();
        case 'always':
          return true;
        default:
          throw new Error(`unsupported function ${node.name}()`);
      }
    case 'not':
      return !truthy(evaluate(node.operand, context, status));
    case 'binary': {
      const left = evaluate(node.left, context, status);
      if (node.op === '&&') return truthy(left) ? evaluate(node.right, context, status) : left;
      if (node.op === '||') return truthy(left) ? left : evaluate(node.right, context, status);
      const right = evaluate(node.right, context, status);
      return node.op === '==' ? equals(left, right) : !equals(left, right);
    }
  }
}

/** A job's `if:` (default `success()`), with GitHub's implicit `success() &&` when it has no status function. */
export function evaluateJobIf(
  condition: string | undefined,
  context: Record<string, Value>,
  status: StatusFunctions,
): boolean {
  const node = parseExpression(condition ?? 'success()');
  const gated = usesStatusFunction(node)
    ? truthy(evaluate(node, context, status))
    : status.success() && truthy(evaluate(node, context, status));
  return gated;
}

/** A string with `${{ … }}` parts (an `environment:`, a `name:`), each evaluated as GitHub does. */
export function interpolate(text: string, context: Record<string, Value>): string {
  const none = { success: () => true, failure: () => false, cancelled: () => false };
  return text.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, source: string) => {
    const v = evaluate(parseExpression(source.trim()), context, none);
    return v === null ? '' : String(v);
  });
}
