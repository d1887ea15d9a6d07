/**
 * A loopback Slack-compatible incoming-webhook receiver: records the JSON bodies it accepts and can be
 * told to fail, so tests see what a chat channel would show and how the sender copes with outages.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookRequest {
  method: string;
  contentType: string;
  body: string;
  /** The status answered. */
  status: number;
}

export interface WebhookReceiver {
  /** The webhook URL, with a secret path like Slack's (tests check it never leaks into logs). */
  url: string;
  /** Every request, in order, with the status answered. */
  requests: WebhookRequest[];
  /** The `text` of each accepted message, in order. */
  texts(): string[];
  /** Bodies that were not a Slack message (`{"text": string}` as JSON); answered 400. */
  invalid: WebhookRequest[];
  /** Answer the next `count` requests with `status` (default 500), then accept again. */
  failNext(count: number, status?: number): void;
  /** Answer every request with `status` (e.g. 404 for a deleted webhook, 500 for an outage). */
  failAlways(status: number): void;
  /** Accept again. */
  heal(): void;
  stop(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const path = `/services/T${hex(4)}/B${hex(4)}/${hex(12)}`;
  const requests: WebhookRequest[] = [];
  const invalid: WebhookRequest[] = [];
  const accepted: string[] = [];
  let failures = 0;
  let failureStatus = 500;
  let always: number | undefined;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry: WebhookRequest = {
        method: req.method ?? '',
        contentType: req.headers['content-type'] ?? '',
        body: Buffer.concat(chunks).toString('utf8'),
        status: 200,
      };
      requests.push(entry);
      // Slack's answers: 200 "ok", 404 "no_service", 400 "invalid_payload", 500 on an outage
      const answer = (status: number, text: string): void => {
        entry.status = status;
        res.writeHead(status, { 'content-type': 'text/plain' }).end(text);
      };
      // the path is the secret; a query (some relays carry a token there) does not change the route
      if (req.url?.split('?')[0] !== path) return answer(404, 'no_service');
      if (always !== undefined) return answer(always, always === 404 ? 'no_service' : 'internal_error');
      if (failures > 0) {
        failures--;
        return answer(failureStatus, 'internal_error');
      }
      const text = slackText(entry);
      if (text === undefined) {
        invalid.push(entry);
        return answer(400, 'invalid_payload');
      }
      accepted.push(text);
      answer(200, 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}${path}`,
    requests,
    invalid,
    texts: () => [...accepted],
    failNext(count, status = 500) {
      failures = count;
      failureStatus = status;
    },
    failAlways(status) {
      always = status;
    },
    heal() {
      always = undefined;
      failures = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function slackText(request: WebhookRequest): string | undefined {
  if (request.method !== 'POST' || !/^application\/json\b/.test(request.contentType)) return undefined;
  try {
    const body = JSON.parse(request.body) as unknown;
    const text = (body as { text?: unknown } | null)?.text;
    return typeof text === 'string' && text.length > 0 ? text : undefined;
  } catch {
    return undefined;
  }
}

function hex(bytes: number): string {
  return randomBytes(bytes).toString('hex').toUpperCase();
}
