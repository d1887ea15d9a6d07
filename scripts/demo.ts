/**
 * `npm run demo [-- --driver helm3|helm4|kubectl] [--keep] [--clusters N]`: both stories of the deploy
 * workflow on a local sandbox cluster, or with `--clusters 2..4 [--fail-in production-N]` one release
 * across that many sandbox clusters in waves (--fail-in: the new version fails there). Exits 0 only when everything ended as expected. See scripts/demo/main.ts.
 *
 * However it ends (a story failed, a server would not start, Ctrl-C, SIGTERM), it ends within seconds
 * and leaves no PostgreSQL, Redis or bundle process behind.
 */
import { killAllChildren, stopOnSignals } from '@veloz/harness/servers/server-process';
import { parseArgs } from 'node:util';
import type { Driver } from './demo/cluster';
import { main } from './demo/main';
import { MAX_CLUSTERS } from './demo/waves';

const DRIVERS: readonly Driver[] = ['helm3', 'helm4', 'kubectl'];

const { values } = parseArgs({
  options: {
    driver: { type: 'string', default: 'helm3' },
    keep: { type: 'boolean', default: false },
    clusters: { type: 'string', default: '1' },
    'fail-in': { type: 'string' },
  },
});
const driver = values.driver as Driver;
if (!DRIVERS.includes(driver)) {
  console.error(`--driver must be one of ${DRIVERS.join(', ')} (got "${values.driver}")`);
  process.exit(2);
}

const clusters = Number(values.clusters);
if (!/^\d+$/.test(values.clusters) || clusters < 1 || clusters > MAX_CLUSTERS) {
  console.error(`--clusters must be a whole number from 1 to ${MAX_CLUSTERS} (got "${values.clusters}")`);
  process.exit(2);
}
if (values['fail-in'] !== undefined && clusters < 2) {
  console.error('--fail-in names a cluster of a wave release: use it with --clusters 2 or more');
  process.exit(2);
}
if (clusters > 1 && values.keep) {
  console.error('--keep shows one cluster: use it without --clusters');
  process.exit(2);
}

// --keep waits for the signal itself (to stop the sandbox and say so); otherwise a signal stops everything.
if (!values.keep) stopOnSignals(() => killAllChildren());
let code = 1;
try {
  const result = await main({
    driver,
    keep: values.keep,
    clusters,
    ...(values['fail-in'] ? { failIn: values['fail-in'] } : {}),
  });
  code = result.ok ? 0 : 1;
} catch (error) {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
}
// Exit explicitly: a handle some failed start left open must not keep the demo alive.
await killAllChildren();
process.exit(code);
