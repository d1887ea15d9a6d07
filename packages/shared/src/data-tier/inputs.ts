/**
 * The data-tier inputs preflight and validate share (one grammar for both): the PostgreSQL URL and
 * whose sessions are the engine's, and the Redis Sentinel endpoints.
 */
import { InputError, type InputReader } from '../inputs';
import { ParseError, type HostPort } from '../parse';

export interface EngineSessions {
  applicationName?: string;
  user?: string;
}

export interface SentinelInputs {
  sentinels: HostPort[];
  master: string;
  password?: string;
  minReplicas: number;
}

/** `postgres-url` (secret, masked as read): postgres:// or postgresql:// only. */
export function readPostgresUrl(reader: InputReader): string | undefined {
  const url = reader.optional('postgres-url', { secret: true });
  if (url && !/^postgres(ql)?:\/\//.test(url)) {
    throw new InputError('postgres-url', url, 'a URL starting with postgres:// or postgresql://', true);
  }
  return url;
}

/** `postgres-application-name` / `postgres-user`: whose sessions in pg_stat_activity are the engine's. */
export function readEngineSessions(reader: InputReader): EngineSessions {
  const identifier = (what: string) => (t: string) => {
    if (t.length > 63 || /[\0\n]/.test(t)) throw new ParseError(`${what} of at most 63 characters on one line`);
    return t;
  };
  return {
    applicationName: reader.parsed('postgres-application-name', identifier('an application_name')),
    user: reader.parsed('postgres-user', identifier('a database user name')),
  };
}

export function readSentinels(reader: InputReader): SentinelInputs | undefined {
  const sentinels = reader.hostPorts('sentinel-addresses');
  const master = reader.text('sentinel-master', { required: true });
  const password = reader.optional('sentinel-password', { secret: true });
  const minReplicas = reader.integer('min-redis-replicas', 0, 32);
  return sentinels.length > 0 ? { sentinels, master, password, minReplicas } : undefined;
}
