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
