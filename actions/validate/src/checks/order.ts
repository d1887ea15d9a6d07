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

export interface OrderCheckOptions {
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

export function orderCheck(ep: HttpEndpoint, opts: OrderCheckOptions): Check {
  const orderPath = opts.orderPath ?? '/api/order';
  const statePath = opts.statePath ?? '/api/orders_state';
  const idFields = opts.idFields ?? ['order_id', 'id', 'orderId'];
  const secrets = secretsOf(ep, [opts.token]);
  const threshold = `POST ${orderPath} 2xx, then the order in ${statePath}`;
  const fail = (observed: string, detail: string): CheckOutcome =>
    functionalFailure('order', observed, redactSecrets(detail, secrets), threshold);

  return {
    name: 'order',
    title: 'Test order',
    timeoutMs: opts.timeoutMs,
    async run(ctx) {
      // The test token travels in Authorization; a path that uses or drops that header cannot carry it.
      const ownAuth = Object.keys(ep.headers ?? {}).some((h) => h.toLowerCase() === 'authorization');
      if (ep.dropsAuthorization || ownAuth) {
        return {
          status: 'skip',
          observed: 'not run',
          threshold,
          detail: ep.dropsAuthorization
            ? `${ep.describe} cannot carry the test token: the Kubernetes API server consumes the Authorization header ` +
              `and does not forward it through pods/proxy or services/proxy. Validate orders through a \`url\` target.`
            : `${ep.describe} already sends its own Authorization header, so the test token cannot be sent alongside it.`,
        };
      }
      const io = ioTimeout(opts.timeoutMs);
      const getState = async (): Promise<OrdersState | string> => {
        let res: HttpResponse;
        try {
          res = await httpRequest(ep, {
            path: statePath,
            headers: { accept: 'application/json' },
            timeoutMs: io,
            signal: ctx.signal,
          });
        } catch (err) {
          return unreachable(ep, statePath, err, ctx.signal, secrets);
        }
        if (!isOk(res.status)) return `GET ${statePath} answered ${statusLine(res, secrets)}`;
        try {
          const body = JSON.parse(res.body) as OrdersState | null;
          return body && typeof body === 'object' ? body : `GET ${statePath} did not answer a JSON object`;
        } catch {
          return `GET ${statePath} did not answer JSON`;
        }
      };

      // The count before placing is the fallback proof when the answer carries no id.
      const before = await getState();
      if (typeof before === 'string') return fail('state unreadable', before);

      let placed: HttpResponse;
      try {
        placed = await httpRequest(ep, {
          method: 'POST',
          path: orderPath,
          headers: {
            'content-type': 'application/json',
            accept: 'application/json',
            authorization: `Bearer ${opts.token}`,
          },
          body: JSON.stringify(opts.order),
          timeoutMs: io,
          signal: ctx.signal,
        });
      } catch (err) {
        return fail('no answer', unreachable(ep, orderPath, err, ctx.signal, secrets));
      }
      const took = formatLatency(placed.durationMs);
      if (!isOk(placed.status)) {
        const hint =
          placed.status === 401 || placed.status === 403
            ? ' — the test token was refused: check the test-token secret'
            : placed.status === 400 || placed.status === 422
              ? ' — the engine refused the order: check the order input and the test account'
              : '';
        return fail(`HTTP ${placed.status}`, `POST ${orderPath} answered ${statusLine(placed, secrets)}${hint}`);
      }
      let answer: unknown;
      try {
        answer = JSON.parse(placed.body);
      } catch {
        answer = undefined;
      }
      const idField = idFields.find((f) => isId((answer as Record<string, unknown> | undefined)?.[f]));
      const id = idField ? String((answer as Record<string, unknown>)[idField]) : undefined;

      const visible = await waitVisible(ctx, opts.visibleWithinMs ?? 5000, async () => {
        const state = await getState();
        if (typeof state === 'string') return state;
        if (id !== undefined) {
          return (
            Array.isArray(state.orders) &&
            state.orders.some((o) => idFields.some((f) => String((o as Record<string, unknown> | null)?.[f]) === id))
          );
        }
        if (typeof before.count !== 'number') {
          return `the answer had no ${idFields.join('/')} and ${statePath} has no numeric count (got ${show(before.count)}): cannot tell whether the order landed`;
        }
        return typeof state.count === 'number' && state.count > before.count;
      });
      const shown = id ? `order ${id}` : 'the order';
      if (visible === true) {
        return {
          status: 'pass',
          observed: `${shown} accepted (${placed.status}, ${took}) and visible in ${statePath}`,
          threshold,
          data: { orderId: id, status: placed.status, latencyMs: Math.round(placed.durationMs) },
        };
      }
      const why =
        typeof visible === 'string'
          ? visible
          : id
            ? `${shown} (${idField} from the answer) is not in ${statePath} .orders after ${formatDuration(opts.visibleWithinMs ?? 5000)}`
            : `${statePath} .count stayed at ${show(before.count)} after ${formatDuration(opts.visibleWithinMs ?? 5000)} (the answer had no ${idFields.join('/')} to look for)`;
      return fail(`accepted, not visible`, `POST ${orderPath} accepted ${shown} (${placed.status}) but ${why}`);
    },
  };
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
