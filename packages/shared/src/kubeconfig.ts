/**
 * The kubeconfig, parsed at input time: its YAML is checked without ever quoting it (a parser's
 * snippet of a `token:` line is a leak), every credential in it is registered as a secret, and
 * credential commands are vetted before anything runs them.
 */
import { isAbsolute, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { ParseError } from './parse';
import type { SecretRegistry } from './secrets';

type Dict = Record<string, unknown>;

// auth-provider config keys that name how to read a credential, not the credential itself.
const AUTH_PROVIDER_PLAIN_KEYS = new Set([
  'client-id',
  'cmd-path',
  'cmd-args',
  'token-key',
  'expiry-key',
  'expiry',
  'idp-issuer-url',
]);
// User fields that hold a credential (client-secret: some generators put OIDC secrets at this level).
const USER_SECRET_KEYS = ['token', 'client-key-data', 'client-certificate-data', 'password', 'client-secret'];
// Fields holding a path; relative ones are relative to the kubeconfig file.
const PATH_KEYS = ['certificate-authority', 'client-certificate', 'client-key', 'token-file'];

export interface KubeconfigOptions {
  allowAuthProviderCommands: boolean;
  /** Directory of the file it came from, so relative paths keep working from a temp copy. */
  baseDir?: string;
}

/**
 * Parses kubeconfig text, registers its credentials and returns the text to hand to clients.
 * Throws ParseError whose `expected` never contains any of the content.
 */
export function readKubeconfig(text: string, secrets: SecretRegistry, options: KubeconfigOptions): string {
  let doc: unknown;
  try {
    doc = parse(text, { prettyErrors: false });
  } catch (error) {
    const line = (error as { linePos?: { line: number }[] }).linePos?.[0]?.line;
    throw new ParseError(`the content of a kubeconfig file: it is not valid YAML${line ? ` (line ${line})` : ''}`);
  }
  if (!isDict(doc) || !Array.isArray(doc.clusters) || !Array.isArray(doc.contexts)) {
    throw new ParseError('the content of a kubeconfig file (YAML with clusters, users and contexts), not a path');
  }
  for (const entry of doc.clusters) {
    const cluster = isDict(entry) && isDict(entry.cluster) ? entry.cluster : undefined;
    if (typeof cluster?.server === 'string') secrets.addUrl(cluster.server);
    if (cluster && options.baseDir) absolutePaths(cluster, options.baseDir);
  }
  for (const entry of Array.isArray(doc.users) ? doc.users : []) {
    const user = isDict(entry) && isDict(entry.user) ? entry.user : undefined;
    if (!user) continue;
    registerUser(user, secrets, options);
    if (options.baseDir) absolutePaths(user, options.baseDir);
  }
  return options.baseDir ? stringify(doc) : text;
}

function registerUser(user: Dict, secrets: SecretRegistry, options: KubeconfigOptions): void {
  for (const key of USER_SECRET_KEYS) if (typeof user[key] === 'string') secrets.add(user[key]);
  // The PEM inside client-key-data, in case a library ever prints it decoded.
  if (typeof user['client-key-data'] === 'string')
    secrets.add(Buffer.from(user['client-key-data'], 'base64').toString());
  const exec = isDict(user.exec) ? user.exec : undefined;
  for (const env of Array.isArray(exec?.env) ? exec.env : []) {
    if (isDict(env) && typeof env.value === 'string') secrets.add(env.value);
  }
  const provider = isDict(user['auth-provider']) ? user['auth-provider'] : undefined;
  const config = isDict(provider?.config) ? provider.config : {};
  for (const [key, value] of Object.entries(config)) {
    if (typeof value === 'string' && !AUTH_PROVIDER_PLAIN_KEYS.has(key)) secrets.add(value);
  }
  if (config['cmd-path'] !== undefined && !options.allowAuthProviderCommands) {
    throw new ParseError(
      'a kubeconfig whose auth-provider runs no command: it sets cmd-path; set `allow-auth-provider-commands: true` to run it, or use an exec credential plugin',
    );
  }
}

function absolutePaths(section: Dict, baseDir: string): void {
  for (const key of PATH_KEYS) {
    const value = section[key];
    if (typeof value === 'string' && value !== '' && !isAbsolute(value)) section[key] = resolve(baseDir, value);
  }
}

function isDict(value: unknown): value is Dict {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}
