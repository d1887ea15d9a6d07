/**
 * The live progress line shown while an action runs: a spinner, the job, the elapsed time and the
 * action's latest log line (from the harness's onLine). Drawn only on a TTY; elsewhere a no-op.
 */
import type { Style } from './render';
import { fit } from './render';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export interface Terminal {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** What of an action's stdout line is worth showing; undefined for runner commands and noise. */
export function progressText(line: string): string | undefined {
  if (/^::(debug|add-mask|endgroup|set-output|save-state)/.test(line)) return undefined;
  const command = /^::(group|warning|error|notice)(?: [^:]*)?::(.*)$/.exec(line);
  if (command) return command[1] === 'group' ? command[2] : `${command[1]}: ${command[2]}`;
  const text = line.trim();
  return text === '' ? undefined : text;
}

export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private label = '';
  private text = '';
  private started = 0;
  private frame = 0;

  constructor(
    private readonly out: Terminal,
    private readonly enabled: boolean,
    private readonly s: Style,
  ) {}

  start(label: string): void {
    if (!this.enabled) return;
    this.label = label;
    this.text = '';
    this.started = Date.now();
    this.timer = setInterval(() => this.draw(), 100);
    this.draw();
  }

  update(line: string): void {
    const text = progressText(line);
    if (text !== undefined) this.text = text;
  }

  stop(): void {
    if (!this.enabled || !this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.out.write('\r\x1b[2K');
  }

  private draw(): void {
    const elapsed = ((Date.now() - this.started) / 1000).toFixed(1);
    const spinner = this.s.cyan(FRAMES[this.frame++ % FRAMES.length] ?? '');
    const line = `${spinner} ${this.s.bold(this.label)} ${this.s.dim(`${elapsed}s`)}  ${this.text}`;
    this.out.write(`\r\x1b[2K${fit(line, (this.out.columns || 100) - 1)}`);
  }
}
