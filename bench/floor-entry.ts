/**
 * The start-up floor (figure 1): an entry that loads only @actions/core 3 and rejects an input, bundled
 * by bench/startup.ts with ncc the way dist/ is. No action can start faster than this.
 */
import * as core from '@actions/core';

core.setFailed(
  `Input 'version' is required but was not set (floor: @actions/core alone; got ${core.getInput('version') || 'nothing'}).`,
);
