/**
 * Runs external commands without a shell: argv arrays only, so a path or argument can never be
 * re-interpreted by `sh` (no globbing, no `$VAR`, no `;`). Used for backup verification, snapshots
 * and restore commands, whose output ends up in reports.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { childEnvironment } from './child-env';
import { cutLongLine, redact } from './secrets';

/**
 * Splits one command line into argv the way a POSIX shell would tokenize it, and nothing more:
 * whitespace separates words; '...' is literal; "..." is literal except \" \\ \$ \` and \newline;
 * outside quotes a backslash escapes the next character. No expansion of any kind.
 */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false; // distinguishes "" (an empty argument) from no argument at all
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unbalanced single quote at column ${i + 1} in: ${line}`);
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new Error(`unbalanced double quote in: ${line}`);
        const d = line[i]!;
        if (d === '"') break;
        if (d === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1]!)) {
          if (line[i + 1] !== '\n') word += line[i + 1];
          i += 2;
          continue;
        }
        word += d;
        i++;
      }
      inWord = true;
      i++;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new Error(`trailing backslash in: ${line}`);
      if (line[i + 1] !== '\n') word += line[i + 1];
      inWord = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}

interface RunCommandOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Additions to the allow-listed child environment (child-env.ts); never the action's own. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Called for every complete output line, in arrival order. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Lines kept in the result (the most recent ones). Default 500. */
  maxLines?: number;
  /** After SIGTERM to the process group, how long before SIGKILL. Default 2000 ms. */
  killGraceMs?: number;
}

export interface CommandResult {
  argv: string[];
  /** null when the process was killed by a signal or never started. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  aborted: boolean;
  /** stdout and stderr lines interleaved in arrival order; the last `maxLines` only. */
  lines: string[];
  /** How many earlier lines were dropped to respect `maxLines`. */
  droppedLines: number;
  /** The last non-empty output line: what a report shows for "what did it say". */
  lastLine: string;
  durationMs: number;
  /** Set when the command could not run or did not finish normally, in words for a report. */
  error?: string;
  /** True exactly when the command started and exited 0. */
  ok: boolean;
}

const MAX_LINE_CHARS = 4000;

type Stream = 'stdout' | 'stderr';
const STREAMS = ['stdout', 'stderr'] as const;

/** Runs argv; never throws for process-level problems (ENOENT, timeout, non-zero exit). */
export function runCommand(argv: readonly string[], options: RunCommandOptions): Promise<CommandResult> {
  const started = Date.now();
  const output = new OutputLines(options.maxLines ?? 500, options.onLine);
  if (argv.length === 0 || !argv[0]) return Promise.resolve(notStarted(argv, output, false, 'empty command'));
  if (options.signal?.aborted) return Promise.resolve(notStarted(argv, output, true, 'aborted before start'));
  return supervise(argv, options, output, started);
}

/** The output a result keeps: redacted, split into lines, the most recent `maxLines`. */
class OutputLines {
  readonly lines: string[] = [];
  dropped = 0;
  last = '';
  private readonly partial: Record<Stream, string> = { stdout: '', stderr: '' };

  constructor(
    private readonly maxLines: number,
    private readonly onLine?: (line: string, stream: Stream) => void,
  ) {}

  write(stream: Stream, chunk: string): void {
    const parts = (this.partial[stream] + chunk).split('\n');
    this.partial[stream] = parts.pop() ?? '';
    for (const p of parts) this.push(p, stream);
    // A line without newline growing without bound is cut into pieces: redacted whole first, and what
    // may begin a secret kept for the next read, so no token is split across two pieces.
    if (this.partial[stream].length > MAX_LINE_CHARS) {
      const { pieces, rest } = cutLongLine(this.partial[stream], MAX_LINE_CHARS);
      for (const piece of pieces) this.push(piece, stream);
      this.partial[stream] = rest;
    }
  }

  /** The unterminated last line of each stream, once the process has ended. */
  flush(): void {
    for (const stream of STREAMS) {
      if (this.partial[stream]) this.push(this.partial[stream], stream);
      this.partial[stream] = '';
    }
  }

  private push(raw: string, stream: Stream): void {
    // Redacted as it arrives: a command that prints its environment or a URL must not leak into a report.
    const line = redact(raw.endsWith('\r') ? raw.slice(0, -1) : raw);
    const text = line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line;
    if (text.trim() !== '') this.last = text;
    this.lines.push(text);
    if (this.lines.length > this.maxLines) {
      this.lines.shift();
      this.dropped++;
    }
    this.onLine?.(text, stream);
  }
}

function notStarted(argv: readonly string[], output: OutputLines, aborted: boolean, error: string): CommandResult {
  return {
    argv: [...argv],
    lines: output.lines,
    lastLine: '',
    exitCode: null,
    signal: null,
    timedOut: false,
    aborted,
    droppedLines: output.dropped,
    durationMs: 0,
    error,
    ok: false,
  };
}

/** How a started process ended, as far as the result's `error` is concerned. */
interface ProcessEnd {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  spawnError?: NodeJS.ErrnoException;
  timedOut: boolean;
  aborted: boolean;
}

function supervise(
  argv: readonly string[],
  options: RunCommandOptions,
  output: OutputLines,
  started: number,
): Promise<CommandResult> {
  return new Promise<CommandResult>((resolve) => {
    // detached: the child leads its own process group, so a timeout kills the whole tree
    // (a script's children included) instead of orphaning them.
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: options.cwd,
      env: childEnvironment(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const end = { timedOut: false, aborted: false, spawnError: undefined as NodeJS.ErrnoException | undefined };
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const terminate = (): void => {
      killGroup(child, 'SIGTERM');
      killTimer ??= setTimeout(() => killGroup(child, 'SIGKILL'), options.killGraceMs ?? 2000);
    };
    const timer = setTimeout(() => {
      end.timedOut = true;
      terminate();
    }, options.timeoutMs);
    const onAbort = (): void => {
      end.aborted = true;
      terminate();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    for (const stream of STREAMS) {
      child[stream].setEncoding('utf8');
      child[stream].on('data', (chunk: string) => output.write(stream, chunk));
    }

    const finish = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      output.flush();
      // Make sure nothing of the group survives a timeout or an abort, then stop the SIGKILL timer.
      if (end.timedOut || end.aborted) killGroup(child, 'SIGKILL');
      if (killTimer) clearTimeout(killTimer);
      resolve(resultOf(argv, options, output, started, { ...end, exitCode, signal }));
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      end.spawnError = err;
      // A spawn failure may or may not be followed by 'close'; settle now either way.
      if (child.pid === undefined) finish(null, null);
    });
    // 'exit' fires when the main process ends; a background grandchild may keep the pipes
    // open, so wait for 'close' only briefly after it.
    child.on('exit', (code, signal) => {
      const grace = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish(code, signal);
      }, 500);
      child.on('close', () => {
        clearTimeout(grace);
        finish(code, signal);
      });
    });
  });
}

function killGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    // group already gone
  }
}

function resultOf(
  argv: readonly string[],
  options: RunCommandOptions,
  output: OutputLines,
  started: number,
  end: ProcessEnd,
): CommandResult {
  const { exitCode, signal, timedOut, aborted } = end;
  let error: string | undefined;
  if (end.spawnError) error = describeSpawnError(argv[0]!, end.spawnError);
  else if (timedOut) error = `timed out after ${options.timeoutMs} ms (process group killed)`;
  else if (aborted) error = 'aborted (process group killed)';
  else if (signal) error = `killed by ${signal}`;
  else if (exitCode !== 0) error = `exited with code ${exitCode}`;
  return {
    argv: [...argv],
    exitCode,
    signal,
    timedOut,
    aborted,
    lines: output.lines,
    droppedLines: output.dropped,
    lastLine: output.last,
    durationMs: Date.now() - started,
    error,
    ok: !error && exitCode === 0,
  };
}

function describeSpawnError(command: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return `command not found: ${command} (ENOENT) — check the path, or that it is installed on the runner`;
    case 'EACCES':
      return `permission denied running ${command} (EACCES) — is it executable (chmod +x)?`;
    default:
      return `could not start ${command}: ${err.code ?? ''} ${err.message}`.trim();
  }
}

/** One line describing a result, e.g. for a report's "observed" column. */
export function summarizeCommand(result: CommandResult): string {
  const status = result.ok ? 'exit 0' : (result.error ?? `exit ${result.exitCode}`);
  return result.lastLine ? `${status}: ${result.lastLine}` : status;
}
