/**
 * Runs external commands without a shell: argv arrays only, so a path or argument can never be
 * re-interpreted by `sh` (no globbing, no `$VAR`, no `;`). Used for backup verification, snapshots
 * and restore commands, whose output ends up in reports.
 */
import { spawn } from 'node:child_process';
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

export interface RunCommandOptions {
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

/** Runs argv; never throws for process-level problems (ENOENT, timeout, non-zero exit). */
export function runCommand(argv: readonly string[], options: RunCommandOptions): Promise<CommandResult> {
  const started = Date.now();
  const maxLines = options.maxLines ?? 500;
  const lines: string[] = [];
  let droppedLines = 0;
  let lastLine = '';
  const pushLine = (raw: string, stream: 'stdout' | 'stderr'): void => {
    // Redacted as it arrives: a command that prints its environment or a URL must not leak into a report.
    const line = redact(raw.endsWith('\r') ? raw.slice(0, -1) : raw);
    const text = line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line;
    if (text.trim() !== '') lastLine = text;
    lines.push(text);
    if (lines.length > maxLines) {
      lines.shift();
      droppedLines++;
    }
    options.onLine?.(text, stream);
  };

  return new Promise<CommandResult>((resolve) => {
    const base = { argv: [...argv], lines, lastLine: '' };
    if (argv.length === 0 || !argv[0]) {
      resolve({
        ...base,
        exitCode: null,
        signal: null,
        timedOut: false,
        aborted: false,
        droppedLines,
        durationMs: 0,
        error: 'empty command',
        ok: false,
      });
      return;
    }
    if (options.signal?.aborted) {
      resolve({
        ...base,
        exitCode: null,
        signal: null,
        timedOut: false,
        aborted: true,
        droppedLines,
        durationMs: 0,
        error: 'aborted before start',
        ok: false,
      });
      return;
    }

    // detached: the child leads its own process group, so a timeout kills the whole tree
    // (a script's children included) instead of orphaning them.
    const child = spawn(argv[0], argv.slice(1), {
      cwd: options.cwd,
      env: childEnvironment(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });

    let settled = false;
    let timedOut = false;
    let aborted = false;
    let spawnError: NodeJS.ErrnoException | undefined;
    let killTimer: NodeJS.Timeout | undefined;

    const killGroup = (sig: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        // group already gone
      }
    };
    const terminate = (): void => {
      killGroup('SIGTERM');
      killTimer ??= setTimeout(() => killGroup('SIGKILL'), options.killGraceMs ?? 2000);
    };

    const timer = setTimeout(() => {
      timedOut = true;
      terminate();
    }, options.timeoutMs);
    const onAbort = (): void => {
      aborted = true;
      terminate();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const partial: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
    for (const stream of ['stdout', 'stderr'] as const) {
      const readable = child[stream];
      readable.setEncoding('utf8');
      readable.on('data', (chunk: string) => {
        const parts = (partial[stream] + chunk).split('\n');
        partial[stream] = parts.pop() ?? '';
        for (const p of parts) pushLine(p, stream);
        // A line without newline growing without bound is cut into pieces.
        if (partial[stream].length > MAX_LINE_CHARS) {
          const { pieces, rest } = cutLongLine(partial[stream], MAX_LINE_CHARS);
          for (const piece of pieces) pushLine(piece, stream);
          partial[stream] = rest;
        }
      });
    }

    const finish = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      for (const stream of ['stdout', 'stderr'] as const) {
        if (partial[stream]) pushLine(partial[stream], stream);
        partial[stream] = '';
      }
      // Make sure nothing of the group survives a timeout or an abort, then stop the SIGKILL timer.
      if (timedOut || aborted) killGroup('SIGKILL');
      if (killTimer) clearTimeout(killTimer);
      const durationMs = Date.now() - started;
      let error: string | undefined;
      if (spawnError) error = describeSpawnError(argv[0]!, spawnError);
      else if (timedOut) error = `timed out after ${options.timeoutMs} ms (process group killed)`;
      else if (aborted) error = 'aborted (process group killed)';
      else if (signal) error = `killed by ${signal}`;
      else if (exitCode !== 0) error = `exited with code ${exitCode}`;
      resolve({
        argv: [...argv],
        exitCode,
        signal,
        timedOut,
        aborted,
        lines,
        droppedLines,
        lastLine,
        durationMs,
        error,
        ok: !error && exitCode === 0,
      });
    };

    child.on('error', (err: NodeJS.ErrnoException) => {
      spawnError = err;
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
