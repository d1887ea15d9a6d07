#!/usr/bin/env node
// Plain JS entry: registers tsx so the TypeScript sources run without a build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
const code = await main(process.argv.slice(2));
// Exit explicitly: a failed start's half-open server or a client's keep-alive must not keep it alive.
process.exit(code);
