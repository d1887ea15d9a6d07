import { devNull } from 'node:os';
import * as parse from './parse';
import { ParseError, type HostPort } from './parse';
import { secretRegistry } from './secrets';
import { parseWorkspacePath } from './workspace';

/**
 * A refused path's placeholder: set, so no good input gets a follow-on "required" error (`checks`
 * naming release-notes), and empty if the rest of the parse reads it; never the refused file.
 */
const REFUSED_PATH = devNull;

/** A bad input: names it, shows the value (masked when secret) and what was expected. */
export class InputError extends Error {
  constructor(
    readonly input: string,
    readonly value: string,
    readonly expected: string,
    readonly secret = false,
  ) {
    const shown = secret ? '***' : JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
    super(
      value === ''
        ? `Input '${input}' is required but was not set: expected ${expected}.`
        : `Input '${input}' has value ${shown}: expected ${expected}.`,
    );
    this.name = 'InputError';
  }
}

interface ReadOptions {
  required?: boolean;
  /** Masked at parse time (core.setSecret), shown as *** in errors. */
  secret?: boolean;
  /** Words a secret input may hold instead of a secret (`in-cluster`): unmasked, or every log line with the word shows ***. */
  keywords?: readonly string[];
}

/** What the reader saw, so tests can prove action.yml and the code agree. */
interface InputUse {
  /** The code refuses an empty value (so action.yml must mark it required or give a default). */
  required: boolean;
  secret: boolean;
}

interface ReaderOptions {
  /**
   * Record each bad input in `errors` and go on with a placeholder value instead of throwing, so one
   * run reports every bad input at once (runAction). Off by default: a direct call throws the first.
   */
  collect?: boolean;
}

/**
 * The one place where raw input text becomes typed values. The source is `core.getInput` in an
 * action and a plain record in tests; `mask` registers with the one secret registry (which masks with
 * `core.setSecret` and redacts every output), so a secret URL's password and tokens are masked too.
 */
export class InputReader {
  readonly used = new Map<string, InputUse>();
  /** Bad inputs recorded in collect mode, at most one per input, in reading order. */
  readonly errors: InputError[] = [];

  constructor(
    private readonly source: (name: string) => string,
    private readonly mask: (secret: string) => void = (secret) => secretRegistry.add(secret),
    private readonly options: ReaderOptions = {},
  ) {}

  /** The trimmed text; '' when unset. Throws (or records) when required and unset. */
  text(name: string, options: ReadOptions = {}): string {
    this.used.set(name, { required: options.required ?? false, secret: options.secret ?? false });
    const value = (this.source(name) ?? '').trim();
    if (options.secret && value !== '' && !options.keywords?.includes(value)) this.mask(value);
    if (options.required && value === '') this.fail(new InputError(name, '', 'a value: this input is required'));
    return value;
  }

  /**
   * Throws the error, or in collect mode records it (once per input) and returns, so the caller goes
   * on with a placeholder: a reader of several inputs (the kubeconfig, a cross-field rule) reports
   * through here so its error joins every other bad input instead of hiding them.
   */
  fail(error: InputError): void {
    if (!this.options.collect) throw error;
    if (!this.errors.some((e) => e.input === error.input)) this.errors.push(error);
  }

  /** Text or undefined when unset. */
  optional(name: string, options: ReadOptions = {}): string | undefined {
    const value = this.text(name, options);
    return value === '' ? undefined : value;
  }

  /** Parses the value with `parser`, turning its ParseError into an InputError naming this input. */
  parsed<T>(name: string, parser: (text: string) => T, options: ReadOptions = {}): T | undefined {
    const value = this.text(name, options);
    if (value === '') return undefined;
    return this.convert(name, value, parser, options.secret);
  }

  /**
   * Like parsed() but the value must be present (action.yml supplies defaults). In collect mode a
   * bad value yields `placeholder` (undefined unless a typed helper below gives a safer one).
   */
  must<T>(name: string, parser: (text: string) => T, options: ReadOptions = {}, placeholder?: T): T {
    const value = this.text(name, options);
    this.used.set(name, { required: true, secret: options.secret ?? false });
    if (value === '') {
      const expected = describe(parser, value);
      this.fail(new InputError(name, '', expected ?? 'a value', options.secret));
      return placeholder as T;
    }
    return this.convert(name, value, parser, options.secret, placeholder);
  }

  // Numeric placeholders are NaN: every comparison with NaN is false, so a cross-field check such
  // as `canaryReplicas > replicas` cannot invent a second error about a good input.
  duration(name: string, options?: ReadOptions): number {
    return this.must(name, parse.parseDuration, options, NaN);
  }
  percentage(name: string, options?: ReadOptions): number {
    return this.must(name, parse.parsePercentage, options, NaN);
  }
  byteSize(name: string, options?: ReadOptions): number {
    return this.must(name, parse.parseByteSize, options, NaN);
  }
  boolean(name: string, options?: ReadOptions): boolean {
    return this.must(name, parse.parseBoolean, options, false);
  }
  integer(name: string, min?: number, max?: number, options?: ReadOptions): number {
    return this.must(name, (t) => parse.parseInteger(t, min, max), options, NaN);
  }
  /** The placeholder is the bad text itself: it equals none of the choices, so no branch is taken for it. */
  choice<T extends string>(name: string, allowed: readonly T[], options?: ReadOptions): T {
    return this.must(name, (t) => parse.parseEnum(t, allowed), options, this.source(name)?.trim() as T);
  }
  list(name: string, options?: ReadOptions): string[] {
    return parse.parseList(this.text(name, options));
  }
  lines(name: string, options?: ReadOptions): string[] {
    return parse.parseLines(this.text(name, options));
  }
  /**
   * A file or directory input: its real path, resolved in the workspace (GITHUB_WORKSPACE, else the
   * current directory) with symlinks followed; outside it, a bad input. `parser` knows the input's
   * remote forms (a chart reference, a values URL), which are no path.
   */
  path(name: string, parser: (text: string) => string = parseWorkspacePath): string | undefined {
    const value = this.text(name);
    return value === '' ? undefined : this.convert(name, value, parser, false, REFUSED_PATH);
  }
  /** One path per line, each judged as path() does; a bad line is named with its value. */
  paths(name: string, parser: (text: string) => string = parseWorkspacePath): string[] {
    return this.lines(name).map((line) => this.convert(name, line, parser, false, REFUSED_PATH));
  }
  /** A URL; credentials inside it (password, token user name, query tokens) are masked. */
  url(name: string, protocols?: readonly string[], options?: ReadOptions): URL | undefined {
    const url = this.parsed(name, (t) => parse.parseUrl(t, protocols), options);
    if (url) secretRegistry.addUrl(url.href);
    return url;
  }
  hostPorts(name: string, options?: ReadOptions): HostPort[] {
    const value = this.text(name, options);
    return parse
      .parseList(value)
      .map((entry) => this.convert<HostPort | undefined>(name, entry, parse.parseHostPort, options?.secret))
      .filter((entry): entry is HostPort => entry !== undefined);
  }

  private convert<T>(name: string, value: string, parser: (text: string) => T, secret = false, placeholder?: T): T {
    try {
      return parser(value);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      this.fail(new InputError(name, value, error.expected, secret));
      return placeholder as T;
    }
  }
}

interface ReadResult<S> {
  /** Set only when every input is good. */
  settings?: S;
  errors: InputError[];
}

/**
 * Runs an action's whole input parse in collect mode and returns every bad input at once. An
 * InputError the parse throws itself (a cross-field check) joins the list unless its input already
 * has one; any other crash after a recorded error is a placeholder tripping the code, so only the
 * recorded errors are reported. A crash with nothing recorded is a bug and is rethrown.
 */
export async function readInputs<S>(
  parseInputs: (reader: InputReader, mask: (secret: string) => void) => S | Promise<S>,
  source: (name: string) => string,
  mask: (secret: string) => void = () => {},
): Promise<ReadResult<S>> {
  const reader = new InputReader(source, mask, { collect: true });
  try {
    const settings = await parseInputs(reader, mask);
    return reader.errors.length > 0 ? { errors: reader.errors } : { settings, errors: [] };
  } catch (error) {
    if (error instanceof InputError) {
      const known = reader.errors.some((e) => e.input === error.input);
      return { errors: known ? reader.errors : [...reader.errors, error] };
    }
    if (reader.errors.length > 0) return { errors: reader.errors };
    throw error;
  }
}

/** Asks a parser what it expects by feeding it nothing; used for "required but unset" messages. */
function describe(parser: (text: string) => unknown, value: string): string | undefined {
  try {
    parser(value);
  } catch (error) {
    if (error instanceof ParseError) return error.expected;
  }
  return undefined;
}

/** Deep-freezes a settings object so nothing below main.ts can change what the user asked for. */
export function freeze<T>(value: T): Readonly<T> {
  if (value && typeof value === 'object' && !Object.isFrozen(value) && !(value instanceof URL)) {
    for (const key of Object.keys(value)) freeze((value as Record<string, unknown>)[key]);
    Object.freeze(value);
  }
  return value;
}
