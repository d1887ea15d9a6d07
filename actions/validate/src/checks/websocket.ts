/**
 * Runbook §3.2 `wscat -c wss://…/ws/market`: the upgrade succeeds and at least one message arrives within
 * the timeout. A refused or silent socket is user-impacting (§4.1 critical bug).
 */
import { type Check, defineCheck } from '@veloz/shared/checks';
import { readWebSocket, type HttpEndpoint } from '@veloz/shared/http/endpoint';
import { formatDuration } from '@veloz/shared/parse';
import {
  formatLatency,
  functionalFailure,
  secretsOf,
  statusLine,
  unreachable,
} from '@veloz/shared/endpoint-checks/common';
import { STREAM_MARGIN_MS } from './sse';

interface WebSocketCheckOptions {
  /** How long to wait for the first message. */
  timeoutMs: number;
  /** Default /ws/market. */
  path?: string;
}

export function websocketCheck(endpoint: HttpEndpoint, opts: WebSocketCheckOptions): Check {
  const path = opts.path ?? '/ws/market';
  const secrets = secretsOf(endpoint);
  const threshold = `upgrade, then ≥ 1 message within ${formatDuration(opts.timeoutMs)}`;
  return defineCheck('websocket', 'WebSocket', opts.timeoutMs + STREAM_MARGIN_MS, async ({ signal }) => {
    let r;
    try {
      r = await readWebSocket(endpoint, path, { timeoutMs: opts.timeoutMs, signal });
    } catch (err) {
      return functionalFailure('websocket', 'no answer', unreachable(endpoint, path, err, signal, secrets), threshold);
    }
    if (r.messages >= 1) {
      const first = r.firstMessageMs === undefined ? '' : ` after ${formatLatency(r.firstMessageMs)}`;
      return {
        status: 'pass',
        observed: `connected, first message${first}`,
        threshold,
        data: { messages: r.messages, firstMessageMs: r.firstMessageMs },
      };
    }
    let observed: string;
    let detail: string;
    if (r.status !== undefined) {
      observed = `upgrade refused (${r.status})`;
      detail = `${path}: the WebSocket upgrade was refused with ${statusLine({ status: r.status, statusText: r.statusText ?? '', body: r.body ?? '' }, secrets)}`;
    } else if (!r.opened) {
      observed = 'no upgrade';
      detail = `${path}: the WebSocket upgrade did not complete within ${formatDuration(opts.timeoutMs)}`;
    } else if (r.closeCode !== undefined) {
      observed = `closed (${r.closeCode})`;
      detail = `${path}: the server closed the socket (code ${r.closeCode}${r.closeReason ? `: ${r.closeReason}` : ''}) before any message`;
    } else {
      observed = 'connected, silent';
      detail = `${path}: connected, but no message arrived within ${formatDuration(opts.timeoutMs)}: the market data publisher looks stalled`;
    }
    const outcome = functionalFailure('websocket', observed, detail, threshold);
    return { ...outcome, data: { ...outcome.data, messages: 0, status: r.status } };
  });
}
