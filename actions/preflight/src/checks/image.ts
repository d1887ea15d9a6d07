/**
 * The release image exists in its registry (runbook §2 step 1 `docker pull veloz/veloz-engine:<ver>`),
 * asked the OCI distribution way: HEAD /v2/<name>/manifests/<tag>, following the WWW-Authenticate
 * challenge (Bearer token from the realm, or Basic). No image is pulled.
 */
import { type Check, type CheckOutcome, defineCheck } from '@veloz/shared/checks';
import { describeConnectError, errorCode } from '@veloz/shared/faults';
import { secretRegistry } from '@veloz/shared/secrets';

export interface ImageCheckSettings {
  /** Repository without tag: `registry.example.com/veloz/veloz-engine`, `veloz/veloz-engine` (Docker Hub), `127.0.0.1:5000/x`. */
  repository: string;
  /** The version tag, or a digest `sha256:…`. */
  tag: string;
  username?: string;
  /** Secret. */
  password?: string;
  /** Talk http instead of https. Default: true only for loopback registries (as docker allows). */
  plainHttp?: boolean;
  timeoutMs: number;
}

interface ImageReference {
  /** Registry as written (docker.io for Hub). */
  registry: string;
  /** host[:port] the API lives at (registry-1.docker.io for Hub). */
  apiHost: string;
  /** Repository path inside the registry (library/ prefixed for Hub official images). */
  name: string;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

/** Docker's reference normalization for a repository (no tag). Throws a readable error. */
export function parseImageRepository(repository: string): ImageReference {
  const text = repository.trim();
  if (!text) throw new Error('image repository is empty');
  const last = text.slice(text.lastIndexOf('/') + 1);
  if (text.includes('@') || last.includes(':')) {
    throw new Error(`image repository "${text}" must not include a tag or digest (put the version in \`version\`)`);
  }
  const slash = text.indexOf('/');
  const first = slash < 0 ? '' : text.slice(0, slash);
  const isDomain = first !== '' && (first.includes('.') || first.includes(':') || first === 'localhost');
  let registry = isDomain ? first : 'docker.io';
  let name = isDomain ? text.slice(slash + 1) : text;
  if (registry === 'index.docker.io') registry = 'docker.io';
  if (registry === 'docker.io' && !name.includes('/')) name = `library/${name}`;
  for (const part of name.split('/')) {
    if (!COMPONENT.test(part))
      throw new Error(
        `image repository "${text}": "${part}" is not a valid path component (lowercase letters, digits, . _ -)`,
      );
  }
  const apiHost = registry === 'docker.io' ? 'registry-1.docker.io' : registry;
  return { registry, apiHost, name };
}

function isLoopback(host: string): boolean {
  const h = host.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (first challenge only; quoted or token values). */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/g;
  for (let p; (p = re.exec(m[2]!));) params[p[1]!.toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  return { scheme: m[1]!.toLowerCase(), params };
}

/**
 * Where the registry may send our Basic credentials for a token: an https realm, or the registry's
 * own scheme and host name. Anything else (another host over http, a file: URL) is refused before any
 * credential leaves. Returns the token URL, or why it is refused.
 */
export function tokenRealm(realm: string, endpoint: string): URL | string {
  let url: URL;
  try {
    url = new URL(realm);
  } catch {
    return 'the Bearer realm is not a URL';
  }
  if (url.username || url.password) return 'the Bearer realm carries user info';
  const registry = new URL(endpoint);
  // The registry's own host over its own scheme: a token service beside it on another port.
  if (url.protocol === 'https:' || (url.protocol === registry.protocol && url.hostname === registry.hostname))
    return url;
  return `the Bearer realm ${url.protocol}//${url.host} is neither https nor on the registry's own host ${registry.host}`;
}

export function imageCheck(settings: ImageCheckSettings): Check {
  return defineCheck('image', 'Release image in registry', settings.timeoutMs, async ({ signal }) => {
    let ref: ImageReference;
    try {
      ref = parseImageRepository(settings.repository);
    } catch (e) {
      return { status: 'fail', observed: 'invalid image reference', detail: (e as Error).message };
    }
    const p = probeOf(settings, ref, signal);
    let answer: Answer | CheckOutcome;
    try {
      answer = await authenticate(p, await p.head());
    } catch (e) {
      return unreachable('the registry', ref.apiHost, e, p.secrets, p.display, THRESHOLD, signal);
    }
    return 'res' in answer ? judgeManifest(p, answer) : answer;
  });
}

const THRESHOLD = 'manifest exists';

/** One manifest lookup: where it goes, with which credentials, and how to ask again. */
interface Probe {
  s: ImageCheckSettings;
  ref: ImageReference;
  display: string;
  endpoint: string;
  manifestUrl: string;
  basic?: string;
  secrets: string[];
  signal: AbortSignal;
  head(authorization?: string): Promise<Response>;
}

/** The registry's final answer to the HEAD, and which authentication got it. */
interface Answer {
  res: Response;
  authUsed: string;
}

function probeOf(s: ImageCheckSettings, ref: ImageReference, signal: AbortSignal): Probe {
  const scheme = (s.plainHttp ?? isLoopback(ref.apiHost)) ? 'http' : 'https';
  const endpoint = `${scheme}://${ref.apiHost}`;
  const manifestUrl = `${endpoint}/v2/${ref.name}/manifests/${encodeURIComponent(s.tag).replace(/%3A/gi, ':')}`;
  return {
    s,
    ref,
    display: `${ref.registry}/${ref.name}:${s.tag}`,
    endpoint,
    manifestUrl,
    basic:
      s.username !== undefined && s.password !== undefined
        ? `Basic ${Buffer.from(`${s.username}:${s.password}`).toString('base64')}`
        : undefined,
    secrets: [s.password ?? ''].filter(Boolean),
    signal,
    head: (authorization) =>
      fetch(manifestUrl, {
        method: 'HEAD',
        headers: { accept: ACCEPT, ...(authorization ? { authorization } : {}) },
        signal,
        // Credentials are never carried through a redirect; an anonymous request may follow one.
        redirect: authorization ? 'manual' : 'follow',
      }),
  };
}

/** Answers a 401 challenge (Bearer through the token service, or Basic) and asks again. */
async function authenticate(p: Probe, res: Response): Promise<Answer | CheckOutcome> {
  if (res.status !== 401) return { res, authUsed: 'anonymous' };
  const challenge = parseChallenge(res.headers.get('www-authenticate') ?? '');
  if (challenge?.scheme === 'bearer') {
    const token = await bearerToken(p, challenge.params);
    if (typeof token !== 'string') return token;
    const authUsed = p.basic ? `bearer token as ${p.s.username}` : 'anonymous bearer token';
    return { res: await p.head(`Bearer ${token}`), authUsed };
  }
  if (challenge?.scheme === 'basic') {
    if (!p.basic) {
      return {
        status: 'fail',
        observed: `${p.ref.registry} requires credentials`,
        threshold: THRESHOLD,
        detail: `${p.endpoint} asks for Basic auth: set registry-username and registry-password to check ${p.display}.`,
      };
    }
    return { res: await p.head(p.basic), authUsed: `basic as ${p.s.username}` };
  }
  return { res, authUsed: 'anonymous' };
}

/** The registry token service's token for pulling this repository, or why there is none. */
async function bearerToken(p: Probe, params: Record<string, string>): Promise<string | CheckOutcome> {
  const fail = (observed: string, detail: string): CheckOutcome => ({
    status: 'fail',
    observed,
    threshold: THRESHOLD,
    detail,
  });
  if (!params.realm)
    return fail(
      'registry sent a Bearer challenge without realm',
      `${p.endpoint} answered 401 with an unusable WWW-Authenticate header`,
    );
  const tokenUrl = tokenRealm(params.realm, p.endpoint);
  if (typeof tokenUrl === 'string')
    return fail(
      'registry named an untrusted token realm',
      `${p.endpoint} answered 401 and ${tokenUrl}: no credentials were sent there. Check the registry's token auth settings.`,
    );
  if (params.service) tokenUrl.searchParams.set('service', params.service);
  tokenUrl.searchParams.set('scope', params.scope ?? `repository:${p.ref.name}:pull`);
  let tokenRes: Response;
  try {
    const headers: Record<string, string> = p.basic ? { authorization: p.basic } : {};
    tokenRes = await fetch(tokenUrl, { headers, signal: p.signal, redirect: p.basic ? 'manual' : 'follow' });
  } catch (e) {
    return unreachable(`the registry token service`, tokenUrl.host, e, p.secrets, p.display, THRESHOLD, p.signal);
  }
  if (tokenRes.status === 401 || tokenRes.status === 403) {
    await tokenRes.arrayBuffer();
    return fail(
      `token service refused the credentials (${tokenRes.status})`,
      `${tokenUrl.host} rejected registry-username "${p.s.username ?? ''}" for ${p.display}: check registry-username/registry-password.`,
    );
  }
  if (!tokenRes.ok) {
    await tokenRes.arrayBuffer();
    return fail(
      `token service answered ${tokenRes.status}`,
      `GET ${tokenUrl.origin}${tokenUrl.pathname} failed for ${p.display}`,
    );
  }
  const body = (await tokenRes.json()) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  secretRegistry.add(token);
  return token ?? fail('token service returned no token', `${tokenUrl.host} answered without token/access_token`);
}

function judgeManifest(p: Probe, { res, authUsed }: Answer): CheckOutcome {
  const { ref, display, s } = p;
  const threshold = THRESHOLD;
  const data = {
    image: display,
    registry: ref.registry,
    name: ref.name,
    tag: s.tag,
    auth: authUsed,
    status: res.status,
  };
  const fail = (observed: string, detail: string): CheckOutcome => ({
    status: 'fail',
    observed,
    threshold,
    detail,
    data,
  });
  switch (res.status) {
    case 200: {
      const digest = res.headers.get('docker-content-digest') ?? undefined;
      const mediaType = res.headers.get('content-type') ?? undefined;
      return {
        status: 'pass',
        observed: `${display} ${digest ?? '(no digest header)'}`,
        threshold,
        data: { ...data, digest, mediaType, size: Number(res.headers.get('content-length') ?? NaN) || undefined },
      };
    }
    case 404:
      return fail(
        `${display} not found (404)`,
        `No manifest for tag "${s.tag}" in ${ref.registry}/${ref.name}: was the release image pushed, and is the version right? Check with: docker manifest inspect ${display}`,
      );
    case 401:
      return fail(
        `${display}: unauthorized (401, ${authUsed})`,
        p.basic
          ? `${ref.registry} rejected the credentials for ${ref.name}: check registry-username/registry-password and their pull permission.`
          : `${ref.registry} requires credentials for ${ref.name}: set registry-username and registry-password.`,
      );
    case 403:
      return fail(`${display}: denied (403, ${authUsed})`, `the account has no pull access to ${ref.name}`);
    default:
      return fail(
        `${display}: registry answered ${res.status}`,
        `HEAD ${p.manifestUrl} → ${res.status} ${res.statusText}`,
      );
  }
}

function unreachable(
  what: string,
  host: string,
  e: unknown,
  secrets: string[],
  display: string,
  threshold: string,
  signal: AbortSignal,
): CheckOutcome {
  return {
    status: 'fail',
    observed: `cannot reach ${host} (${signal.aborted ? 'ABORT_ERR' : (errorCode(e) ?? 'error')})`,
    threshold,
    detail: `${describeConnectError(what, host, e, secrets, signal)} [checking ${display}]`,
  };
}
