/**
 * Runbook §3.2 `timeout 30 curl -N …/api/stream`: the stream must deliver at least `minEvents` events
 * within the timeout. A silent or refused stream is user-impacting (§4.1 critical bug).
 */
import { type Check, defineCheck } from '@veloz/shared/checks';
import { readEventStream, type HttpEndpoint } from '@veloz/shared/http/endpoint';
import { formatDuration } from '@veloz/shared/parse';
import {
  formatLatency,
  functionalFailure,
  secretsOf,
  statusLine,
  unreachable,
} from '@veloz/shared/endpoint-checks/common';

interface SseCheckOptions {
  minEvents: number;
  /** How long to listen for the events. */
  timeoutMs: number;
  /** Default /api/stream. */
  path?: string;
}

/** Room for connecting and reporting beyond the listening time, so the check says what it saw. */
export const STREAM_MARGIN_MS = 5000;

export function sseCheck(endpoint: HttpEndpoint, opts: SseCheckOptions): Check {
  const path = opts.path ?? '/api/stream';
  const secrets = secretsOf(endpoint);
  const threshold = `≥ ${opts.minEvents} event${opts.minEvents === 1 ? '' : 's'} within ${formatDuration(opts.timeoutMs)}`;
  return defineCheck('sse', 'SSE stream', opts.timeoutMs + STREAM_MARGIN_MS, async ({ signal }) => {
    let r;
    try {
      r = await readEventStream(endpoint, path, { minEvents: opts.minEvents, timeoutMs: opts.timeoutMs, signal });
    } catch (err) {
      return functionalFailure('sse', 'no answer', unreachable(endpoint, path, err, signal, secrets), threshold);
    }
    const first = r.firstEventMs === undefined ? '' : `, first after ${formatLatency(r.firstEventMs)}`;
    if (r.events >= opts.minEvents) {
      return {
        status: 'pass',
        observed: `${r.events} event${r.events === 1 ? '' : 's'}${first}`,
        threshold,
        data: { events: r.events, firstEventMs: r.firstEventMs },
      };
    }
    const observed = `${r.events} event${r.events === 1 ? '' : 's'}${first}`;
    let detail: string;
    if (r.status === undefined)
      detail = `GET ${path} sent no response headers within ${formatDuration(opts.timeoutMs)}`;
    else if (r.status < 200 || r.status >= 300) {
      detail = `GET ${path} answered ${statusLine({ status: r.status, statusText: '', body: r.body ?? '' }, secrets)}`;
    } else if (r.ended) detail = `GET ${path} closed the stream after ${r.events} of ${opts.minEvents} events`;
    else {
      detail =
        `GET ${path} opened (${r.status}${r.contentType ? `, ${r.contentType}` : ''}) but delivered ${r.events} of ` +
        `${opts.minEvents} events in ${formatDuration(opts.timeoutMs)}: the publisher looks stalled`;
    }
    const outcome = functionalFailure('sse', observed, detail, threshold);
    return { ...outcome, data: { ...outcome.data, events: r.events, status: r.status } };
  });
}
