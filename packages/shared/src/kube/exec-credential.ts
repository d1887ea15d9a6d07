/**
 * How we run a kubeconfig's exec credential plugin (`aws eks get-token`, `gke-gcloud-auth-plugin`),
 * in place of client-node's own runner, which hands the plugin the whole process environment, turns a
 * failure into an Error holding the plugin's stderr (often the token it was refreshing) that is then
 * retried as a transient API failure and published in the log, summary and report.
 */
import { spawn } from 'node:child_process';
import { childEnvironment } from '../child-env';
import { secretRegistry } from '../secrets';

interface ExecConfig {
  command?: string;
  args?: string[];
  env?: { name: string; value: string }[];
}

interface ExecUser {
  name: string;
  exec?: ExecConfig;
  authProvider?: { config?: { exec?: ExecConfig } };
}

export interface ExecCredential {
  status: {
    token?: string;
    clientKeyData?: string;
    clientCertificateData?: string;
    expirationTimestamp?: string;
  };
}

/** The plugin failed: fatal (no retry fixes a plugin's refusal), and its output is never shown. */
export class ExecPluginError extends Error {
  /** Read by apiFailure: not a transient API failure. */
  readonly retryable = false;
  constructor(
    readonly command: string,
    problem: string,
  ) {
    super(
      `the kubeconfig's exec credential plugin ${command} ${problem}; its output is not shown because it may hold credentials. Run it by hand on the runner to see why, or fix the kubeconfig's users[].user.exec.`,
    );
    this.name = 'ExecPluginError';
  }
}

/** Bytes of stdout kept: an ExecCredential is a few KiB; anything larger is not one. */
const MAX_STDOUT = 1 << 20;

/**
 * Runs the plugin with the allow-listed child environment plus its own `env` entries, within
 * `timeoutMs`. stderr is not even read. Every credential it returns is registered as a secret
 * before anything else sees it.
 */
export function runExecPlugin(exec: ExecConfig, timeoutMs: number): Promise<ExecCredential> {
  const command = exec.command ?? '';
  if (!command) return Promise.reject(new ExecPluginError('(none)', 'has no command'));
  const own = Object.fromEntries((exec.env ?? []).map((e) => [e.name, e.value]));
  return new Promise((resolve, reject) => {
    const child = spawn(command, exec.args ?? [], {
      env: childEnvironment(own),
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let spawnError: NodeJS.ErrnoException | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < MAX_STDOUT) stdout += chunk;
    });
    child.on('error', (error: NodeJS.ErrnoException) => (spawnError = error));
    child.on('close', (code, signal) => {
      if (spawnError)
        return reject(new ExecPluginError(command, `could not be started (${spawnError.code ?? 'error'})`));
      if (signal) {
        const why =
          signal === 'SIGKILL' ? `gave no answer within ${Math.round(timeoutMs / 1000)}s` : `was killed by ${signal}`;
        return reject(new ExecPluginError(command, why));
      }
      if (code !== 0) return reject(new ExecPluginError(command, `failed (exit ${code})`));
      let credential: ExecCredential;
      try {
        credential = JSON.parse(stdout) as ExecCredential;
      } catch {
        credential = { status: undefined as unknown as ExecCredential['status'] };
      }
      if (!credential || typeof credential.status !== 'object' || credential.status === null)
        return reject(new ExecPluginError(command, 'printed no ExecCredential JSON (exit 0)'));
      registerCredential(credential);
      resolve(credential);
    });
  });
}

/** The returned token and key are secrets from the moment they exist (principle 13). */
function registerCredential(credential: ExecCredential): void {
  const { token, clientKeyData } = credential.status;
  if (typeof token === 'string') secretRegistry.add(token);
  if (typeof clientKeyData === 'string') {
    secretRegistry.add(clientKeyData);
    secretRegistry.add(Buffer.from(clientKeyData, 'base64').toString());
  }
}

/**
 * Puts our runner in place of client-node's in its ExecAuth authenticator: same cache by user name
 * and expiry, one plugin run at a time per user (concurrent first requests share it).
 */
export function confineExecPlugins(config: object, timeoutMs: number): void {
  const authenticators = (config as { authenticators?: { getCredential?: unknown }[] }).authenticators ?? [];
  for (const auth of authenticators) {
    if (typeof auth.getCredential !== 'function') continue;
    const cache = new Map<string, Promise<ExecCredential>>();
    auth.getCredential = (user: ExecUser): Promise<ExecCredential | null> => {
      const exec = user.exec ?? user.authProvider?.config?.exec;
      if (!exec) return Promise.resolve(null);
      const cached = cache.get(user.name);
      if (cached) return cached;
      const pending = runExecPlugin(exec, timeoutMs);
      cache.set(user.name, pending);
      pending.then(
        (credential) => {
          const expires = Date.parse(credential.status.expirationTimestamp ?? '');
          // No expiry: the next request runs the plugin again, as client-go does.
          if (!(expires > Date.now())) cache.delete(user.name);
          else setTimeout(() => cache.delete(user.name), Math.min(expires - Date.now(), 2 ** 31 - 1)).unref();
        },
        () => cache.delete(user.name),
      );
      return pending;
    };
  }
}
