#!/usr/bin/env node
// veloz-deploy: the deployment actions from a terminal (README "When GitHub is down"). It runs the
// committed bundle in dist/, the same code the actions run, so a fresh checkout needs only `npm ci`.
import { fileURLToPath, URL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bundle = await import('../dist/index.js');
if (typeof bundle.cliMain !== 'function') {
  console.error(`veloz-deploy: ${root}dist/ was built before the CLI existed: run \`npm run bundle\` in ${root}`);
  process.exit(1);
}
await bundle.cliMain(root);
