/**
 * Runbook §3.2 functional validation: place the test account's order (`POST /api/order`, bearer test
 * token), then see it in `/api/orders_state` — by its id when the answer carries one, else by the count
 * going up. The token is a secret: it is redacted from everything this check reports.
 */
import type { Check, CheckContext, CheckOutcome } from '@veloz/shared/checks';
import { redactSecrets } from '@veloz/shared/faults';
import { httpRequest, type HttpEndpoint, type HttpResponse } from '@veloz/shared/http/endpoint';
import { formatDuration } from '@veloz/shared/parse';
import {
  formatLatency,
  functionalFailure,
  ioTimeout,
  isOk,
  secretsOf,
  show,
  statusLine,
  unreachable,
} from '@veloz/shared/endpoint-checks/common';

interface OrderCheckOptions {
  /** The test account's bearer token (secret). */
  token: string;
  /** The order body (runbook default `{"side":"BUY","symbol":"BTCUSDT","qty":0.0001,"price":50000.0}`). */
  order: Record<string, unknown>;
  timeoutMs: number;
  /** How long the order may take to show up in the state (default 5s; state may be updated asynchronously). */
  visibleWithinMs?: number;
  /** Id fields tried in the answer and in `orders[]`; default order_id, id, orderId. */
  idFields?: readonly string[];
  orderPath?: string;
  statePath?: string;
}

const POLL_MS = 250;

interface OrdersState {
  count?: number;
  orders?: unknown[];
}

/** What one run of the check works with: the endpoint, the options and the secrets to redact. */
interface OrderRun {
  ep: HttpEndpoint;
  opts: OrderCheckOptions;
  ctx: CheckContext;
  orderPath: string;
  statePath: string;
  idFields: readonly string[];
  secrets: string[];
  threshold: string;
  io: number;
}

export function orderCheck(endpoint: HttpEndpoint, opts: OrderCheckOptions): Check {
  const orderPath = opts.orderPath ?? '/api/order';
  const statePath = opts.statePath ?? '/api/orders_state';
  const idFields = opts.idFields ?? ['order_id', 'id', 'orderId'];
  const secrets = secretsOf(endpoint, [opts.token]);
  const threshold = `POST ${orderPath} 2xx, then the order in ${statePath}`;
  return {
    name: 'order',
    title: 'Test order',
    timeoutMs: opts.timeoutMs,
    run: (ctx) =>
      placeAndFind({
        ep: endpoint,
        opts,
        ctx,
        orderPath,
        statePath,
        idFields,
        secrets,
        threshold,
        io: ioTimeout(opts.timeoutMs),
      }),
  };
}

function fail(r: OrderRun, observed: string, detail: string): CheckOutcome {
  return functionalFailure('order', observed, redactSecrets(detail, r.secrets), r.threshold);
}

/** Place the order, then wait for it in the state: by id when the answer has one, else by the count. */
async function placeAndFind(r: OrderRun): Promise<CheckOutcome> {
  const cannot = cannotCarryToken(r);
  if (cannot) return { status: 'skip', observed: 'not run', threshold: r.threshold, detail: cannot };
  // The count before placing is the fallback proof when the answer carries no id.
  const before = await readState(r);
  if (typeof before === 'string') return fail(r, 'state unreadable', before);
  const placed = await placeOrder(r);
  if (typeof placed === 'string') return fail(r, 'no answer', placed);
  if (!isOk(placed.status)) return fail(r, `HTTP ${placed.status}`, refusal(r, placed));
  const idField = r.idFields.find((f) => isId(parseObject(placed.body)?.[f]));
  const id = idField ? String(parseObject(placed.body)![idField]) : undefined;
  const within = r.opts.visibleWithinMs ?? 5000;
  const visible = await waitVisible(r.ctx, within, () => isVisible(r, before, id));
  const shown = id ? `order ${id}` : 'the order';
  if (visible === true) {
    return {
      status: 'pass',
      observed: `${shown} accepted (${placed.status}, ${formatLatency(placed.durationMs)}) and visible in ${r.statePath}`,
      threshold: r.threshold,
      data: { orderId: id, status: placed.status, latencyMs: Math.round(placed.durationMs) },
    };
  }
  const why =
    typeof visible === 'string'
      ? visible
      : id
        ? `${shown} (${idField} from the answer) is not in ${r.statePath} .orders after ${formatDuration(within)}`
        : `${r.statePath} .count stayed at ${show(before.count)} after ${formatDuration(within)} (the answer had no ${r.idFields.join('/')} to look for)`;
  return fail(r, `accepted, not visible`, `POST ${r.orderPath} accepted ${shown} (${placed.status}) but ${why}`);
}

/** The test token travels in Authorization; a path that uses or drops that header cannot carry it. */
function cannotCarryToken({ ep }: OrderRun): string | undefined {
  if (ep.dropsAuthorization) {
    return (
      `${ep.describe} cannot carry the test token: the Kubernetes API server consumes the Authorization header ` +
      `and does not forward it through pods/proxy or services/proxy. Validate orders through a \`url\` target.`
    );
  }
  const ownAuth = Object.keys(ep.headers ?? {}).some((h) => h.toLowerCase() === 'authorization');
  return ownAuth
    ? `${ep.describe} already sends its own Authorization header, so the test token cannot be sent alongside it.`
    : undefined;
}

async function readState(r: OrderRun): Promise<OrdersState | string> {
  let res: HttpResponse;
  try {
    res = await httpRequest(r.ep, {
      path: r.statePath,
      headers: { accept: 'application/json' },
      timeoutMs: r.io,
      signal: r.ctx.signal,
    });
  } catch (err) {
    return unreachable(r.ep, r.statePath, err, r.ctx.signal, r.secrets);
  }
  if (!isOk(res.status)) return `GET ${r.statePath} answered ${statusLine(res, r.secrets)}`;
  try {
    const body = JSON.parse(res.body) as OrdersState | null;
    return body && typeof body === 'object' ? body : `GET ${r.statePath} did not answer a JSON object`;
  } catch {
    return `GET ${r.statePath} did not answer JSON`;
  }
}

async function placeOrder(r: OrderRun): Promise<HttpResponse | string> {
  try {
    return await httpRequest(r.ep, {
      method: 'POST',
      path: r.orderPath,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        authorization: `Bearer ${r.opts.token}`,
      },
      body: JSON.stringify(r.opts.order),
      timeoutMs: r.io,
      signal: r.ctx.signal,
    });
  } catch (err) {
    return unreachable(r.ep, r.orderPath, err, r.ctx.signal, r.secrets);
  }
}

function refusal(r: OrderRun, placed: HttpResponse): string {
  const hint =
    placed.status === 401 || placed.status === 403
      ? ' — the test token was refused: check the test-token secret'
      : placed.status === 400 || placed.status === 422
        ? ' — the engine refused the order: check the order input and the test account'
        : '';
  return `POST ${r.orderPath} answered ${statusLine(placed, r.secrets)}${hint}`;
}

/** True once the order shows in the state; a string when the state cannot tell. */
async function isVisible(r: OrderRun, before: OrdersState, id: string | undefined): Promise<boolean | string> {
  const state = await readState(r);
  if (typeof state === 'string') return state;
  if (id !== undefined) {
    return (
      Array.isArray(state.orders) &&
      state.orders.some((o) => r.idFields.some((f) => String((o as Record<string, unknown> | null)?.[f]) === id))
    );
  }
  if (typeof before.count !== 'number') {
    return `the answer had no ${r.idFields.join('/')} and ${r.statePath} has no numeric count (got ${show(before.count)}): cannot tell whether the order landed`;
  }
  return typeof state.count === 'number' && state.count > before.count;
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function isId(v: unknown): boolean {
  return (typeof v === 'string' && v !== '') || typeof v === 'number';
}

/** Polls until `probe` is true (or says why it cannot tell), for at most `withinMs`. */
async function waitVisible(
  ctx: CheckContext,
  withinMs: number,
  probe: () => Promise<boolean | string>,
): Promise<boolean | string> {
  const deadline = ctx.clock.now() + withinMs;
  for (;;) {
    const seen = await probe();
    if (seen !== false || ctx.clock.now() >= deadline) return seen;
    await ctx.clock.sleep(POLL_MS, ctx.signal);
  }
}
