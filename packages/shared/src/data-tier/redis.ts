/**
 * Redis Sentinel health (runbook §1.2 step 5, `sentinel master veloz-master`): every sentinel sees the
 * master with flags exactly `master`, can reach quorum, sees enough live replicas, and they all agree
 * on the master's address. The master itself is probed too: Sentinel's view lags a real failure by
 * down-after-milliseconds, and a deploy must not start on a stale "all good". After the deploy
 * (validate, runbook §3.4 "Redis operations working") a SET/GET/DEL round trip runs on that master.
 */
import type { Check, CheckOutcome } from '../checks';
import { describeConnectError, errorCode, redactSecrets } from '../faults';
import { RespError, respConnect, toRecord, type RespConnection, type RespValue } from './resp';

export interface RedisCheckSettings {
  /** Sentinel endpoints, already parsed from the host:port list. */
  sentinels: readonly { host: string; port: number }[];
  /** Default `veloz-master`. */
  masterName: string;
  /** Sentinel password (secret); also tried on the master probe. */
  password?: string;
  /** Replicas that must be up (default 1). */
  minReplicas: number;
  /** SET (with TTL), GET and DEL one key under this prefix on the master; unset: no round trip. */
  roundTripPrefix?: string;
  timeoutMs: number;
}

interface SentinelView {
  endpoint: string;
  error?: string;
  master?: Record<string, string>;
  replicas?: Record<string, string>[];
  quorum?: { ok: boolean; text: string };
}

type Probe = 'master' | 'replica' | 'refused' | 'unreachable' | 'auth-required';

const BAD_REPLICA_FLAGS = ['s_down', 'o_down', 'disconnected'];

/** The settings plus what every connection of one run shares. */
interface RedisRun extends RedisCheckSettings {
  secrets: string[];
  ioTimeout: number;
  signal: AbortSignal;
}

export function redisCheck(settings: RedisCheckSettings): Check {
  return {
    name: 'redis',
    title: 'Redis Sentinel',
    timeoutMs: settings.timeoutMs,
    run: ({ signal }) =>
      checkSentinels({
        ...settings,
        secrets: settings.password ? [settings.password] : [],
        ioTimeout: Math.max(500, Math.min(5000, settings.timeoutMs - 500)),
        signal,
      }),
  };
}

async function checkSentinels(r: RedisRun): Promise<CheckOutcome> {
  const views = await Promise.all(r.sentinels.map((x) => askSentinel(r, x.host, x.port)));
  const ok = views.filter((v) => v.master);
  const threshold = `flags = master, quorum OK, ≥ ${r.minReplicas} replica(s) up, ${r.sentinels.length} sentinels agree`;
  if (ok.length === 0) {
    return {
      status: 'fail',
      observed: `0/${r.sentinels.length} sentinels answered`,
      threshold,
      detail: views.map((v) => v.error).join('; '),
      data: { sentinels: views.map((v) => ({ endpoint: v.endpoint, error: v.error })) },
    };
  }
  const problems = views.flatMap((v) => (v.error ? [v.error] : []));
  const notes: string[] = [];
  const addresses = new Set(ok.map((v) => `${v.master!.ip}:${v.master!.port}`));
  if (addresses.size > 1) {
    problems.push(
      `sentinels disagree on the master: ${ok.map((v) => `${v.endpoint} says ${v.master!.ip}:${v.master!.port}`).join(', ')} (failover in progress?)`,
    );
  }
  problems.push(...flagAndQuorumProblems(ok));
  const minUp = Math.min(...ok.map((v) => v.replicas!.filter(replicaUp).length));
  if (minUp < r.minReplicas) problems.push(replicaProblem(ok, minUp, r.minReplicas));

  const first = ok[0]!.master!;
  const masterAddr = `${first.ip}:${first.port}`;
  let probe: MasterProbe | undefined;
  if (addresses.size === 1) {
    probe = await probeMaster(r, first.ip!, Number(first.port));
    if (probe.probe === 'refused')
      problems.push(`master probe: ${probe.note} (the sentinels still name it: failover pending?)`);
    else if (probe.probe === 'replica')
      problems.push(`${masterAddr} is not a master any more (${probe.note}); sentinels have not caught up`);
    else if (probe.probe === 'unreachable')
      notes.push(`master not reachable from the runner, relying on the sentinels' view: ${probe.note}`);
  }
  const roundTrip =
    r.roundTripPrefix === undefined
      ? undefined
      : probe?.probe === 'master' || probe?.probe === 'auth-required'
        ? await roundTripOn(r, first.ip!, Number(first.port), r.roundTripPrefix)
        : { ok: false, text: 'round trip not tried: no master to run it on' };
  if (roundTrip && !roundTrip.ok) problems.push(`operation round trip on ${masterAddr}: ${roundTrip.text}`);
  if (r.signal.aborted) problems.push('the check was cancelled (timed out) before the master probe finished');
  return {
    status: problems.length ? 'fail' : 'pass',
    observed: `master ${masterAddr} flags ${first.flags}; ${minUp} replica(s) up; ${ok.length}/${r.sentinels.length} sentinels answered, ${addresses.size === 1 ? 'agree' : 'DISAGREE'}; quorum ${ok.every((v) => v.quorum!.ok) ? 'OK' : 'NOT OK'}${roundTrip ? `; SET/GET/DEL ${roundTrip.ok ? roundTrip.text : 'FAILED'}` : ''}`,
    threshold: roundTrip ? `${threshold}, SET/GET/DEL round trip on the master` : threshold,
    detail: [...problems, ...notes].join('; ') || undefined,
    data: {
      master: masterAddr,
      masterProbe: probe?.probe,
      sentinels: views.map(viewData),
      ...(roundTrip ? { roundTrip: roundTrip.ok ? 'ok' : roundTrip.text } : {}),
    },
  };
}

async function withConnection<T>(
  r: RedisRun,
  host: string,
  port: number,
  fn: (c: RespConnection) => Promise<T>,
): Promise<T> {
  const conn = await respConnect(host, port, { signal: r.signal, timeoutMs: r.ioTimeout });
  try {
    return await fn(conn);
  } finally {
    conn.close();
  }
}

async function askSentinel(r: RedisRun, host: string, port: number): Promise<SentinelView> {
  const endpoint = `${host}:${port}`;
  try {
    return await withConnection(r, host, port, async (c) => {
      if (r.password) {
        const auth = await c.command('AUTH', r.password);
        if (auth instanceof RespError)
          return {
            endpoint,
            error: `sentinel ${endpoint} rejected the password: ${redactSecrets(auth.message, r.secrets)}`,
          };
      }
      const master = await c.command('SENTINEL', 'MASTER', r.masterName);
      if (master instanceof RespError) {
        return {
          endpoint,
          error: `sentinel ${endpoint}: ${redactSecrets(master.message, r.secrets)}${master.kind === 'NOAUTH' ? ' (set sentinel-password)' : ''}`,
        };
      }
      const replicas = await c.command('SENTINEL', 'REPLICAS', r.masterName);
      const quorum = await c.command('SENTINEL', 'CKQUORUM', r.masterName);
      return {
        endpoint,
        master: toRecord(master),
        replicas: Array.isArray(replicas) ? replicas.map(toRecord) : [],
        quorum: {
          ok: !(quorum instanceof RespError),
          text: quorum instanceof RespError ? quorum.message : String(quorum),
        },
      };
    });
  } catch (e) {
    return { endpoint, error: describeConnectError('Redis Sentinel', endpoint, e, r.secrets, r.signal) };
  }
}

interface MasterProbe {
  probe: Probe;
  note?: string;
}

async function probeMaster(r: RedisRun, host: string, port: number): Promise<MasterProbe> {
  try {
    return await withConnection(r, host, port, async (c) => {
      if (r.password) await c.command('AUTH', r.password); // the master may use another password
      const role: RespValue = await c.command('ROLE');
      if (role instanceof RespError) return { probe: 'auth-required' as const };
      const name = Array.isArray(role) ? String(role[0]) : String(role);
      return { probe: name === 'master' ? ('master' as const) : ('replica' as const), note: `ROLE says ${name}` };
    });
  } catch (e) {
    const code = r.signal.aborted ? 'ABORT_ERR' : errorCode(e);
    return {
      probe: code === 'ECONNREFUSED' ? 'refused' : 'unreachable',
      note: describeConnectError('the Redis master', `${host}:${port}`, e, r.secrets, r.signal),
    };
  }
}

/**
 * One key under the prefix, with a TTL so a run killed half-way leaves nothing for ever: SET NX (a key
 * that already exists is someone else's), GET must return what was set, DEL must delete one key.
 */
async function roundTripOn(
  r: RedisRun,
  host: string,
  port: number,
  prefix: string,
): Promise<{ ok: boolean; text: string }> {
  const key = `${prefix}${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
  const value = `validate ${new Date().toISOString()}`;
  const started = performance.now();
  try {
    return await withConnection(r, host, port, async (c) => {
      if (r.password) await c.command('AUTH', r.password);
      const steps: [string, RespValue, (v: RespValue) => boolean][] = [];
      const set = await c.command('SET', key, value, 'PX', '60000', 'NX');
      steps.push(['SET', set, (v) => v === 'OK']);
      if (set === 'OK') {
        steps.push(['GET', await c.command('GET', key), (v) => v === value]);
        steps.push(['DEL', await c.command('DEL', key), (v) => v === 1]);
      }
      for (const [name, reply, good] of steps) {
        if (!good(reply)) {
          const said = reply instanceof RespError ? redactSecrets(reply.message, r.secrets) : JSON.stringify(reply);
          return { ok: false, text: `${name} ${key} answered ${said}` };
        }
      }
      return { ok: true, text: `ok in ${Math.round(performance.now() - started)}ms` };
    });
  } catch (e) {
    return { ok: false, text: describeConnectError('the Redis master', `${host}:${port}`, e, r.secrets, r.signal) };
  }
}

/** Flags other than exactly `master`, grouped (three sentinels saying the same is one line), and quorum. */
function flagAndQuorumProblems(ok: readonly SentinelView[]): string[] {
  const problems: string[] = [];
  const byFlags = new Map<string, string[]>();
  for (const v of ok) {
    const flags = v.master!.flags ?? '';
    if (flags !== 'master') byFlags.set(flags, [...(byFlags.get(flags) ?? []), v.endpoint]);
    if (!v.quorum!.ok) problems.push(`sentinel ${v.endpoint}: CKQUORUM failed: ${v.quorum!.text}`);
  }
  for (const [flags, who] of byFlags) {
    problems.push(
      `master flags "${flags}" (want exactly "master") according to sentinel${who.length > 1 ? 's' : ''} ${who.join(', ')}`,
    );
  }
  return problems;
}

function replicaProblem(ok: readonly SentinelView[], minUp: number, needed: number): string {
  const worst = ok.find((v) => v.replicas!.filter(replicaUp).length === minUp)!;
  const down = worst
    .replicas!.filter((x) => !replicaUp(x))
    .map((x) => `${x.ip}:${x.port} (${x.flags}, link ${x['master-link-status'] ?? '?'})`);
  return `sentinel ${worst.endpoint} sees ${minUp} replica(s) up, need ${needed}${down.length ? `; down: ${down.join(', ')}` : ''}`;
}

function viewData(v: SentinelView): Record<string, unknown> {
  return {
    endpoint: v.endpoint,
    error: v.error,
    master: v.master ? `${v.master.ip}:${v.master.port}` : undefined,
    flags: v.master?.flags,
    replicasUp: v.replicas?.filter(replicaUp).length,
    quorum: v.quorum?.text,
  };
}

function replicaUp(r: Record<string, string>): boolean {
  const flags = (r.flags ?? '').split(',');
  return !flags.some((f) => BAD_REPLICA_FLAGS.includes(f)) && r['master-link-status'] === 'ok';
}
