import { ParseError } from './parse';

/**
 * The one secret registry of a process. Every secret input, every credential found inside a URL and
 * inside the parsed kubeconfig is registered here once: it is masked for the runner (`::add-mask::`,
 * through the masker `runAction` installs) and removed by `redact` from everything that leaves the
 * process — log lines, summary, outputs, report file, records, webhook bodies, GitHub payloads.
 */

/** Values shorter than this are masked by the runner but not rewritten by `redact` (it would eat words). */
const MIN_REDACT_CHARS = 3;
const REDACTED = '***';

// Query parameters that carry credentials (`?token=`, `?X-Amz-Signature=`, `?sig=`, `?api_key=`).
const CREDENTIAL_QUERY = /token|secret|passw|pwd|key|sig|auth|credential|session|code/i;
// `scheme://user:password@` or `scheme://token@` anywhere in free text.
const URL_USER_INFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"'<>]+@/gi;

export class SecretRegistry {
  private readonly values = new Set<string>();
  private sorted: string[] = [];

  constructor(private masker: (secret: string) => void = () => {}) {}

  /** Where `::add-mask::` goes: `core.setSecret` in an action, nothing in tests. */
  setMasker(masker: (secret: string) => void): void {
    this.masker = masker;
    for (const value of this.values) masker(value);
  }

  /**
   * Registers a secret and the forms it takes when printed: each line of a multi-line value, its
   * percent-encoded, percent-decoded and JSON-escaped forms, and the credentials of a URL it holds.
   */
  add(secret: string | undefined): void {
    if (secret === undefined) return;
    const value = secret.trim();
    if (value === '') return;
    for (const form of variants(value)) this.remember(form);
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) this.addUrl(value);
  }

  /** Registers the password (decoded and encoded), a user name used as a token, and query credentials. */
  addUrl(raw: string): void {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return;
    }
    if (url.password) {
      this.add(url.password);
      this.add(safeDecode(url.password));
    } else if (url.username && /^https?:$/.test(url.protocol)) {
      // `https://TOKEN@host`: over HTTP a user name without password is a token (a database user is not).
      this.add(url.username);
      this.add(safeDecode(url.username));
    }
    for (const [name, value] of url.searchParams) if (CREDENTIAL_QUERY.test(name)) this.add(value);
  }

  /** Everything registered, longest first. */
  list(): readonly string[] {
    return this.sorted;
  }

  /** Text with every registered value, and any URL user info, replaced by `***`. */
  redact(text: string): string {
    let out = text.replace(URL_USER_INFO, '$1');
    for (const value of this.sorted) if (value.length >= MIN_REDACT_CHARS) out = out.split(value).join(REDACTED);
    return out;
  }

  /**
   * How many characters at the end of `text` may be the start of a registered value: a reader that
   * must cut text still arriving keeps them back until the rest comes, so the value is found whole.
   */
  pendingPrefixLength(text: string): number {
    let longest = 0;
    for (const value of this.sorted) {
      if (value.length < MIN_REDACT_CHARS) continue;
      for (let at = Math.max(0, text.length - value.length + 1); at < text.length - longest; at++) {
        if (text.charCodeAt(at) === value.charCodeAt(0) && value.startsWith(text.slice(at))) {
          longest = text.length - at;
          break;
        }
      }
    }
    return longest;
  }

  /** A copy of a JSON-like value with every string redacted (reports, payloads). */
  redactDeep<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((v: unknown) => this.redactDeep(v)) as T;
    if (value && typeof value === 'object' && !(value instanceof Date)) {
      const copy: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) copy[k] = this.redactDeep(v);
      return copy as T;
    }
    return value;
  }

  /** For tests: forget everything. */
  clear(): void {
    this.values.clear();
    this.sorted = [];
  }

  private remember(value: string): void {
    if (value === '' || this.values.has(value)) return;
    this.values.add(value);
    this.sorted = [...this.values].sort((a, b) => b.length - a.length);
    this.masker(value);
  }
}

// A base64 body line of a PEM block: printed alone, it is still the key.
const KEY_MATERIAL_LINE = /^[A-Za-z0-9+/=_-]{16,}$/;

function variants(value: string): string[] {
  // Lines of a multi-line value are registered only when they are key material: the lines of a
  // kubeconfig (`clusters:`, `- name: prod`) are not secrets, its credential fields are registered
  // one by one when it is parsed.
  const lines = value.includes('\n') ? value.split(/\r?\n/).map((l) => l.trim()) : [];
  const base = [value, ...lines.filter((l) => KEY_MATERIAL_LINE.test(l))];
  return base.flatMap((v) => [v, encodeURIComponent(v), safeDecode(v), JSON.stringify(v).slice(1, -1)]);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The process's registry: inputs, URLs and the kubeconfig register here at parse time. */
export const secretRegistry = new SecretRegistry();

/** Redacts through the process's registry. */
export function redact(text: string): string {
  return secretRegistry.redact(text);
}

/**
 * A line still arriving (no newline yet) that has to be cut for memory: redacted whole first, then
 * cut into pieces of at most `size` characters. Redacting each piece instead leaves the two halves
 * of a secret that spans a cut; what may begin a secret stays in `rest`, for the next read.
 */
export function cutLongLine(
  text: string,
  size: number,
  registry: SecretRegistry = secretRegistry,
): { pieces: string[]; rest: string } {
  const redacted = registry.redact(text);
  const ready = redacted.length - registry.pendingPrefixLength(redacted);
  const pieces: string[] = [];
  for (let at = 0; at < ready; at += size) pieces.push(redacted.slice(at, Math.min(at + size, ready)));
  return { pieces, rest: redacted.slice(ready) };
}

/**
 * How a URL is shown anywhere (log, summary, report): without user info, credential query values
 * replaced by `***`, and nothing registered. Unparseable text is shown as `<unparseable URL>`.
 */
export function displayUrl(raw: string): string {
  const url = urlOf(raw);
  if (!url) return UNPARSEABLE_URL;
  url.username = '';
  url.password = '';
  for (const name of [...url.searchParams.keys()])
    if (CREDENTIAL_QUERY.test(name)) url.searchParams.set(name, REDACTED);
  const text = url.toString().replace(/%2A%2A%2A/g, REDACTED);
  return redact(raw.endsWith('/') || url.pathname !== '/' || url.search ? text : text.replace(/\/$/, ''));
}

/**
 * A database URL as `user@host:port/db`: who connects where, never the password or the query (which
 * can carry one too). Shown with the same registry pass as every other URL.
 */
export function displayConnection(raw: string): string {
  const url = urlOf(raw);
  if (!url) return UNPARSEABLE_URL;
  const user = url.username ? `${decodeURIComponent(url.username)}@` : '';
  const port = url.port ? `:${url.port}` : '';
  return redact(`${user}${url.hostname}${port}${url.pathname === '/' ? '' : url.pathname}`);
}

const UNPARSEABLE_URL = '<unparseable URL>';

function urlOf(raw: string): URL | undefined {
  try {
    return new URL(raw);
  } catch {
    return undefined;
  }
}

/** Free text as one log record: newlines and other control characters become spaces. */
export function singleLine(text: string): string {
  // C0/C1 controls and line separators become a space; bidi controls (U+202A–E, U+2066–9, U+200E/F)
  // go, so an RTL override cannot make a summary or chat message read other than it is written.
  return (
    text
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
      .replace(/[\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '')
      .trim()
  );
}

/** The longest free-text input (`reason`, `override-reason`, `incident`) a summary and a chat line carry. */
export const FREE_TEXT_MAX_CHARS = 1000;

/** A free-text input as one clean line (singleLine), refused past FREE_TEXT_MAX_CHARS rather than cut. */
export function freeText(text: string): string {
  const line = singleLine(text);
  if (line.length > FREE_TEXT_MAX_CHARS)
    throw new ParseError(`one line of at most ${FREE_TEXT_MAX_CHARS} characters (this one has ${line.length})`);
  return line;
}

/** Free text inside Slack mrkdwn: `&`, `<`, `>` escaped as Slack asks, so `<!channel>` or links cannot be forged. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Free text inside a Markdown line: HTML, emphasis, links, code and table syntax made literal. */
export function escapeMarkdown(text: string): string {
  return singleLine(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/([\\`*_[\]|#~!])/g, '\\$1');
}

/** A code fence longer than any backtick run in `text`, so the text cannot close it. */
export function fenceFor(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  return '`'.repeat(Math.max(3, longest + 1));
}
