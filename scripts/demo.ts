/**
 * `npm run demo [-- --driver helm3|helm4|kubectl] [--keep]`: both stories of the deploy workflow on
 * a local sandbox cluster. Exits 0 only when both ended as expected. See scripts/demo/main.ts.
 *
 * However it ends (a story failed, a server would not start, Ctrl-C, SIGTERM), it ends within seconds
 * and leaves no PostgreSQL, Redis or bundle process behind.
 */
import { killAllChildren, stopOnSignals } from '@veloz/harness/servers/server-process';
import { parseArgs } from 'node:util';
import type { Driver } from './demo/cluster';
import { main } from './demo/main';

const DRIVERS: readonly Driver[] = ['helm3', 'helm4', 'kubectl'];

const { values } = parseArgs({
  options: { driver: { type: 'string', default: 'helm3' }, keep: { type: 'boolean', default: false } },
});
const driver = values.driver as Driver;
if (!DRIVERS.includes(driver)) {
  console.error(`--driver must be one of ${DRIVERS.join(', ')} (got "${values.driver}")`);
  process.exit(2);
}

// --keep waits for the signal itself (to stop the sandbox and say so); otherwise a signal stops everything.
if (!values.keep) stopOnSignals(() => killAllChildren());
let code = 1;
try {
  const result = await main({ driver, keep: values.keep });
  code = result.ok ? 0 : 1;
} catch (error) {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
}
// Exit explicitly: a handle some failed start left open must not keep the demo alive.
await killAllChildren();
process.exit(code);
