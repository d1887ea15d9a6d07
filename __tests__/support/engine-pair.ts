/**
 * A stable engine double and a canary degraded to 6% errors and a 1.2 s p99, both busy enough
 * (300 synthetic requests/s) that a Prometheus scraping them every second sees stable rates.
 */
import { parseDegrade, startEngine, type EngineHandle } from '../../packages/sandbox/src/engine/index';

export const PAIR_LABELS = { 'app.kubernetes.io/name': 'veloz' };

export async function startStableAndCanary(): Promise<{ stable: EngineHandle; canary: EngineHandle }> {
  const common = { namespace: 'veloz', testToken: 't', syntheticRequestsPerSecond: 300 };
  const [stable, canary] = await Promise.all([
    startEngine({
      ...common,
      podName: 'veloz-engine-stable-0',
      image: 'ghcr.io/veloz/engine:1.4.2',
      podLabels: { ...PAIR_LABELS, track: 'stable' },
    }),
    startEngine({
      ...common,
      podName: 'veloz-engine-canary-0',
      image: 'ghcr.io/veloz/engine:1.5.0',
      podLabels: { ...PAIR_LABELS, track: 'canary' },
      behaviour: parseDegrade({ 'error-rate': '6%', p99: '1200ms' }),
    }),
  ]);
  return { stable, canary };
}
