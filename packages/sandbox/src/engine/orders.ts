/** Order intake: validation of `POST /api/order` bodies and the engine's in-memory order state. */
import { randomUUID } from 'node:crypto';

export type Side = 'BUY' | 'SELL';

export interface Order {
  order_id: string;
  side: Side;
  symbol: string;
  qty: number;
  price: number;
  status: 'ACCEPTED';
  created_at: string;
}

export interface OrderRequest {
  side: Side;
  symbol: string;
  qty: number;
  price: number;
}

/** A field-level validation failure, answered as 400 with the field named. */
export class InvalidOrder extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Kept orders; `count` still reports every accepted order. */
const MAX_KEPT = 1000;

export function validateOrder(body: unknown): OrderRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidOrder('body', 'request body must be a JSON object with side, symbol, qty and price');
  }
  const b = body as Record<string, unknown>;
  if (b.side !== 'BUY' && b.side !== 'SELL') {
    throw new InvalidOrder('side', `side must be "BUY" or "SELL", got ${JSON.stringify(b.side)}`);
  }
  if (typeof b.symbol !== 'string' || !/^[A-Z0-9]{2,20}$/.test(b.symbol)) {
    throw new InvalidOrder(
      'symbol',
      `symbol must be an upper-case instrument such as "BTCUSDT", got ${JSON.stringify(b.symbol)}`,
    );
  }
  for (const field of ['qty', 'price'] as const) {
    const v = b[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
      throw new InvalidOrder(field, `${field} must be a number greater than 0, got ${JSON.stringify(v)}`);
    }
  }
  return { side: b.side, symbol: b.symbol, qty: b.qty as number, price: b.price as number };
}

export class OrderBook {
  private kept: Order[] = [];
  private accepted = 0;

  add(req: OrderRequest, now = Date.now()): Order {
    const order: Order = {
      order_id: `ord-${randomUUID()}`,
      ...req,
      status: 'ACCEPTED',
      created_at: new Date(now).toISOString(),
    };
    this.kept.push(order);
    if (this.kept.length > MAX_KEPT) this.kept.shift();
    this.accepted += 1;
    return order;
  }

  state(): { count: number; orders: Order[] } {
    return { count: this.accepted, orders: this.kept.slice() };
  }
}
