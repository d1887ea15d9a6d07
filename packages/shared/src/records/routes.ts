/**
 * Runbook §5.1–5.2: who is told what. Each §5.4 notification kind goes to its channels — deploy
 * started/complete to Platform, a rollback to Platform and Trading Ops, a database restore to the
 * database on-call — with the §5.1 escalation level and response time in the text. A channel without
 * a route falls back to `notify-webhook`.
 */
import { parse as parseYaml } from 'yaml';
import { ParseError } from '../parse';

const CHANNELS = {
  platform: { who: 'L2 Platform Engineer', where: '#veloz-platform, PagerDuty rotation', response: '15 minutes' },
  'trading-ops': { who: 'Trading Ops', where: '#trading-ops, @trading-ops', response: '15 minutes (with L2)' },
  database: { who: 'L3 Database Admin', where: '#db-oncall, @dba-oncall', response: '15 minutes' },
} as const;
export type Channel = keyof typeof CHANNELS;

type NotificationKind = 'deploy-started' | 'deploy-complete' | 'rollback' | 'database-restore';

const KIND_CHANNELS: Readonly<Record<NotificationKind, readonly Channel[]>> = {
  'deploy-started': ['platform'],
  'deploy-complete': ['platform'],
  rollback: ['platform', 'trading-ops'],
  'database-restore': ['database'],
};

export type NotifyRoutes = Partial<Record<Channel, string>>;

/** The §5.4 templates' first lines tell the kind; anything else goes where deploy notices go. */
function kindOf(text: string): NotificationKind {
  const first = text.split('\n', 1)[0]!.trim().toUpperCase();
  if (first.startsWith('ROLLBACK')) return 'rollback';
  if (first.startsWith('DATABASE')) return 'database-restore';
  if (first.startsWith('DEPLOYMENT COMPLETE')) return 'deploy-complete';
  return 'deploy-started';
}

function escalationLine(channel: Channel): string {
  const c = CHANNELS[channel];
  return `Escalation: ${c.who} (${c.where}), response within ${c.response}`;
}

interface Delivery {
  url: string;
  text: string;
  channels: Channel[];
}

/**
 * Where one notification goes: one delivery per distinct URL (two channels that fall back to the same
 * webhook get one message naming both escalations). Nothing when neither a route nor a fallback is set.
 * Without any route, the one webhook gets the §5.4 text as it always did (no escalation lines).
 */
export function deliveriesFor(text: string, routes: NotifyRoutes, fallback?: string): Delivery[] {
  const byUrl = new Map<string, Channel[]>();
  for (const channel of KIND_CHANNELS[kindOf(text)]) {
    const url = routes[channel] ?? fallback;
    if (!url) continue;
    byUrl.set(url, [...(byUrl.get(url) ?? []), channel]);
  }
  return [...byUrl].map(([url, channels]) => ({
    url,
    channels,
    text: Object.keys(routes).length === 0 ? text : [text, ...channels.map(escalationLine)].join('\n'),
  }));
}

/**
 * `notify-routes`: a YAML mapping (`platform: https://…`) or `channel=https://…` lines, channels from
 * platform, trading-ops, database. URLs are checked by the caller (they are secrets).
 */
export function parseNotifyRoutes(text: string): Record<string, string> {
  const expected = `\`channel=webhook-url\` lines or a YAML mapping, channels from ${Object.keys(CHANNELS).join(', ')}`;
  const trimmed = text.trim();
  if (!trimmed) return {};
  let entries: [string, unknown][];
  if (/^[\w-]+\s*=/.test(trimmed)) {
    entries = trimmed
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map((line) => {
        const at = line.indexOf('=');
        if (at < 1) throw new ParseError(`${expected} (bad line without =)`);
        return [line.slice(0, at).trim(), line.slice(at + 1).trim()];
      });
  } else {
    let parsed: unknown;
    try {
      parsed = parseYaml(trimmed);
    } catch {
      throw new ParseError(`${expected} (not valid YAML)`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ParseError(expected);
    entries = Object.entries(parsed as Record<string, unknown>);
  }
  const routes: Record<string, string> = {};
  for (const [channel, url] of entries) {
    if (!(channel in CHANNELS)) throw new ParseError(`${expected} (unknown channel '${channel}')`);
    if (typeof url !== 'string' || !url) throw new ParseError(`${expected} (no URL for ${channel})`);
    routes[channel] = url;
  }
  return routes;
}
