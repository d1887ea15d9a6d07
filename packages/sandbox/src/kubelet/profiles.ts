import { ParseError, parseDuration } from '@veloz/shared/parse';

/** How a container with a given image behaves in the sandbox. */
export const PROFILE_NAMES = ['healthy', 'never-ready', 'crashloop', 'missing', 'oom', 'degrade'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export interface ProfileSpec {
  name: ProfileName;
  /** `key=value` parameters as written (`crashloop:run=300ms,backoff=200ms`). */
  params: Record<string, string>;
}

/** Parameters each lifecycle profile accepts (degrade's are validated by the engine double). */
const LIFECYCLE_PARAMS: Record<Exclude<ProfileName, 'degrade'>, string[]> = {
  healthy: ['start', 'spread'],
  'never-ready': ['start'],
  crashloop: ['start', 'run', 'backoff', 'max-backoff', 'exit'],
  missing: ['backoff', 'max-backoff'],
  oom: ['start', 'after', 'backoff', 'max-backoff'],
};

export const DEFAULT_PROFILE: ProfileSpec = { name: 'healthy', params: {} };

/** "crashloop:run=300ms,backoff=200ms" → { name, params }. Validates names, keys and durations. */
export function parseProfileSpec(
  text: string,
  validateDegrade?: (params: Record<string, string>) => void,
): ProfileSpec {
  const trimmed = text.trim();
  const colon = trimmed.indexOf(':');
  const name = (colon < 0 ? trimmed : trimmed.slice(0, colon)).trim();
  if (!(PROFILE_NAMES as readonly string[]).includes(name)) {
    throw new Error(`unknown profile "${name}"; expected one of ${PROFILE_NAMES.join(', ')}`);
  }
  const params: Record<string, string> = {};
  const rest = colon < 0 ? '' : trimmed.slice(colon + 1);
  for (const part of rest
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`profile ${name}: "${part}" is not key=value`);
    params[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  const spec: ProfileSpec = { name: name as ProfileName, params };
  if (spec.name === 'degrade') validateDegrade?.(params);
  else {
    const allowed = LIFECYCLE_PARAMS[spec.name];
    for (const [k, v] of Object.entries(params)) {
      if (!allowed.includes(k))
        throw new Error(`profile ${name}: unknown parameter "${k}"; expected ${allowed.join(', ') || 'none'}`);
      if (k !== 'exit') profileParamDuration(name, k, v);
      else if (!/^\d+$/.test(v)) throw new Error(`profile ${name}: exit must be an exit code, got "${v}"`);
    }
  }
  return spec;
}

/** "IMAGE=NAME[:k=v,...]" as written on the command line. */
export function parseProfileAssignment(
  text: string,
  validateDegrade?: (params: Record<string, string>) => void,
): { image: string; spec: ProfileSpec } {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new Error(`--profile expects IMAGE=PROFILE[:key=value,...], got "${text}"`);
  return { image: text.slice(0, eq).trim(), spec: parseProfileSpec(text.slice(eq + 1), validateDegrade) };
}

export const formatProfile = (spec: ProfileSpec): string => {
  const params = Object.entries(spec.params)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return params ? `${spec.name}:${params}` : spec.name;
};

/** The image without tag or digest ("ghcr.io/veloz/engine:1.2" → "ghcr.io/veloz/engine"). */
export function imageRepository(image: string): string {
  const noDigest = image.split('@')[0] ?? image;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/**
 * Profiles keyed by image reference. An exact reference wins over a repository-wide entry
 * ("repo" or "repo:*"), which wins over "*"; anything else is healthy.
 */
export class ProfileRegistry {
  private readonly byImage = new Map<string, ProfileSpec>();
  private readonly listeners = new Set<(image: string) => void>();

  set(image: string, spec: ProfileSpec | undefined): void {
    if (spec) this.byImage.set(image, spec);
    else this.byImage.delete(image);
    for (const l of this.listeners) l(image);
  }

  resolve(image: string): ProfileSpec {
    return (
      this.byImage.get(image) ??
      this.byImage.get(`${imageRepository(image)}:*`) ??
      this.byImage.get(imageRepository(image)) ??
      this.byImage.get('*') ??
      DEFAULT_PROFILE
    );
  }

  entries(): [string, ProfileSpec][] {
    return [...this.byImage.entries()];
  }

  onChange(listener: (image: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Numeric parameters with defaults (all durations in ms). */
export function profileDuration(spec: ProfileSpec, key: string, fallback: number): number {
  const v = spec.params[key];
  return v === undefined ? fallback : profileParamDuration(spec.name, key, v);
}

/** The suite's one duration grammar, with the profile and parameter named when it is refused. */
function profileParamDuration(profile: string, key: string, value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    if (!(error instanceof ParseError)) throw error;
    throw new Error(`profile ${profile}: ${key}=${value} is not valid; expected ${error.expected}`, { cause: error });
  }
}
