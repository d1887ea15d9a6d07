/**
 * The terminal adapter's log: every line stamped with the time since the command started, each step
 * opened and closed with its duration; colours only when the stream is a TTY and NO_COLOR is unset.
 */
import type { Logger } from '@veloz/shared/contract';
import { formatDuration } from '@veloz/shared/parse';
import { redact } from '@veloz/shared/secrets';

export interface Out {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface Paint {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
}

const code =
  (open: number, close: number) =>
  (text: string): string =>
    `\u001b[${open}m${text}\u001b[${close}m`;
const plain = (text: string): string => text;

export function paintFor(out: Out, env: NodeJS.ProcessEnv): Paint {
  const on = out.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
  return on
    ? { bold: code(1, 22), dim: code(2, 22), red: code(31, 39), green: code(32, 39), yellow: code(33, 39) }
    : { bold: plain, dim: plain, red: plain, green: plain, yellow: plain };
}

export function terminalLogger(out: Out, paint: Paint, now: () => number, verbose = false): Logger {
  const started = now();
  const stamp = (): string => paint.dim(`[${(((now() - started) / 1000).toFixed(1) + 's').padStart(7)}]`);
  const line = (text: string): void => {
    for (const part of redact(text).split('\n')) out.write(`${stamp()} ${part}\n`);
  };
  return {
    info: (m) => line(`  ${m}`),
    warning: (m) => line(`  ${paint.yellow(`warning: ${m}`)}`),
    debug: (m) => {
      if (verbose) line(paint.dim(`  ${m}`));
    },
    async group(name, fn) {
      const t0 = now();
      line(paint.bold(`▶ ${name}`));
      try {
        const result = await fn();
        line(`${paint.green('✔')} ${name} ${paint.dim(`(${formatDuration(now() - t0)})`)}`);
        return result;
      } catch (error) {
        line(`${paint.red('✘')} ${name} ${paint.dim(`(${formatDuration(now() - t0)})`)}`);
        throw error;
      }
    },
  };
}
