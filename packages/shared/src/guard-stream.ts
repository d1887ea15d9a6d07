import { redact } from './secrets';

/**
 * The last line of the one redaction pass: whatever reaches stdout or stderr (a library's own
 * console output, an uncaught error) is redacted line by line; only `::add-mask::` lines, which
 * must carry the secret to the runner, pass as they are.
 */
export function guardStream(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk !== 'string' && !(chunk instanceof Uint8Array)) return write(chunk, ...rest);
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    const safe = text
      .split('\n')
      .map((line) => (line.startsWith('::add-mask::') ? line : redact(line)))
      .join('\n');
    return write(safe, ...rest);
  }) as typeof stream.write;
}
