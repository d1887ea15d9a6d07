import { runAction } from '@veloz/shared/action';
import { canaryAction } from '../../actions/canary/src/main';
import { preflightAction } from '../../actions/preflight/src/main';
import { rollbackAction } from '../../actions/rollback/src/main';
import { validateAction } from '../../actions/validate/src/main';
import { boundWindowMemory } from '../../actions/validate/src/window-memory';

/**
 * The single bundle entry: dist/<action>/index.js calls main('<action>'). One bundle shares
 * @actions/core and the lazily loaded chunks (Kubernetes client, pg) among the four actions and the CLI.
 * It sits with the CLI, the top layer, because it imports every action: nothing in actions/ imports up.
 */
export async function main(action: string): Promise<void> {
  // Bundled dependencies (the Kubernetes client's HTTP stack) use APIs Node 24 deprecates; the
  // warnings would land in the on-call engineer's log with nothing they could do about them.
  process.noDeprecation = true;
  switch (action) {
    case 'preflight':
      return runAction(preflightAction);
    case 'canary':
      return runAction(canaryAction);
    case 'validate':
      boundWindowMemory();
      return runAction(validateAction);
    case 'rollback':
      return runAction(rollbackAction);
    default:
      throw new Error(`unknown action '${action}'`);
  }
}

/** The `veloz-deploy` CLI (bin/veloz-deploy.js) shares this bundle: same code as the actions. */
export { cliMain } from './bin';
