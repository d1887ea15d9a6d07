import { cancelledMessage, exitOnCancel } from '@veloz/shared/cancel';
import { guardStream } from '@veloz/shared/guard-stream';
import { redact } from '@veloz/shared/secrets';
import { cli } from './main';

/** What bin/veloz-deploy.js runs: the process's own streams, redacted, and its exit code. */
export async function cliMain(root: string): Promise<void> {
  // Bundled dependencies use APIs Node 24 deprecates; the warnings are noise at 3 a.m.
  process.noDeprecation = true;
  guardStream(process.stdout);
  guardStream(process.stderr);
  // Ctrl-C or a SIGTERM while the CLI holds the release lock: helm interrupted, the Lease deleted, exit 130/143.
  exitOnCancel((signal, gaveLockBack) =>
    process.stderr.write(`error: ${redact(cancelledMessage(signal, gaveLockBack, 're-run this command'))}\n`),
  );
  process.exitCode = await cli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    root,
  });
}
