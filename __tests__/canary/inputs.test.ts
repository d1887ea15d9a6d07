/** The canary's strategy and canary-traffic inputs, parsed from source with action.yml's defaults. */
import { describe, expect, test } from '@jest/globals';
import { parseCanaryInputs } from '../../actions/canary/src/inputs';
import { inputsWithDefaults } from '../support/settings';

const BASE = { phase: 'canary', version: '1.1.0', chart: './infra/helm/veloz' };
const parse = async (values: Record<string, string>) =>
  parseCanaryInputs(await inputsWithDefaults('canary', values), () => {});

describe('strategy and canary-traffic', () => {
  test('default to side-by-side with a replica share of traffic', async () => {
    const s = await parse(BASE);
    expect(s.strategy).toBe('side-by-side');
    expect(s.canaryTraffic).toBe('share');
  });

  test('in-place and none are accepted', async () => {
    const s = await parse({ ...BASE, strategy: 'in-place', 'canary-traffic': 'none' });
    expect(s.strategy).toBe('in-place');
    expect(s.canaryTraffic).toBe('none');
  });

  test.each([
    ['strategy', 'blue-green', /Input 'strategy'.*blue-green.*side-by-side.*in-place/],
    ['canary-traffic', '50%', /Input 'canary-traffic'.*50%.*share.*none/],
  ])('a bad %s names the input, the value and the choices', async (name, value, message) => {
    await expect(parse({ ...BASE, [name]: value })).rejects.toThrow(message);
  });
});
