import { runAction } from '@veloz/shared/action';
import { canaryAction } from './canary/src/main';
import { preflightAction } from './preflight/src/main';
import { rollbackAction } from './rollback/src/main';
import { validateAction } from './validate/src/main';

/**
 * The single bundle entry: dist/<action>/index.js calls main('<action>'). One bundle shares
 * @actions/core and the lazily loaded chunks (Kubernetes client, pg, ioredis) among the four actions.
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
      return runAction(validateAction);
    case 'rollback':
      return runAction(rollbackAction);
    default:
      throw new Error(`unknown action '${action}'`);
  }
}

/** The `veloz-deploy` CLI (bin/veloz-deploy.js) shares this bundle: same code as the actions. */
export { cliMain } from '../cli/src/bin';
