/**
 * An engine double alone in its own process (bench/engine-process.ts starts it): argv[2] is its options as
 * JSON. Prints one JSON line — its URL and Prometheus scrape target — then serves until its stdin closes
 * (the bench went away, however it ended) or it is sent SIGTERM.
 */
import { startEngine, type EngineOptions } from '@veloz/sandbox/engine/index';

const options = JSON.parse(process.argv[2] ?? '{}') as EngineOptions;
const engine = await startEngine(options);
process.stdout.write(`${JSON.stringify({ url: engine.url, target: engine.scrapeTarget() })}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  // never wait for ever on a stream that will not close: the process ends within 5 s either way
  setTimeout(() => process.exit(0), 5000).unref();
  void engine.stop().finally(() => process.exit(0));
};
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
