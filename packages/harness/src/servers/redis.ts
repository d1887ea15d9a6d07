/**
 * Real Redis 7 master + replicas + 3 Sentinels on 127.0.0.1 (Debian redis-server / redis-sentinel).
 * Sentinel rewrites its config file, so each sentinel gets a fresh copy per run in a temp dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RespError, respConnect, toRecord, type RespValue } from '@veloz/shared/data-tier/resp';
import { requirePrograms } from '../prerequisites';
import { freePort, killOnExit, stopChild, throwIfExited, waitFor } from './server-process';

export const REDIS_SERVER = process.env.REDIS_SERVER ?? 'redis-server';
export const REDIS_SENTINEL = process.env.REDIS_SENTINEL ?? 'redis-sentinel';

export interface RedisNode {
  port: number;
  process?: ChildProcess;
}

export interface RedisSentinelOptions {
  /** Data replicas besides the master. Default 1. */
  replicas?: number;
  /** requirepass on every server and sentinel, plus masterauth/auth-pass/sentinel-pass. */
  password?: string;
  masterName?: string;
  /** Sentinel down-after-milliseconds; failover takes roughly 3-4x this. Default 1000. */
  downAfterMs?: number;
}

export interface RedisSentinelCluster {
  masterName: string;
  password?: string;
  /** Data nodes; nodes[0] starts as the master. */
  nodes: RedisNode[];
  sentinels: RedisNode[];
  /** "127.0.0.1:port" of each sentinel, the check's input. */
  sentinelAddresses: string[];
  /** Sends one command to a port (AUTH first when the cluster has a password). */
  command(port: number, ...args: string[]): Promise<RespValue>;
  /** The master port as the first sentinel reports it. */
  currentMasterPort(): Promise<number>;
  /** SIGKILLs the current master (a crash, not a shutdown); returns its port. */
  killMaster(): Promise<number>;
  /** Waits until every sentinel reports a master other than `oldPort` with flags exactly `master`. */
  waitForFailover(oldPort: number, timeoutMs?: number): Promise<number>;
  /** Starts a killed data node again on its port (Sentinel turns an old master into a replica). */
  restartNode(port: number): Promise<void>;
  /** Waits until sentinels see flags `master`, each other, and `replicas` live replicas. */
  waitHealthy(replicas?: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the cluster; a start whose sentinels do not agree within 40 s is torn down, explained on
 * stderr and tried once more on fresh ports (seen twice in ~10 full CI runs, never alone: a fixture
 * fault, not the behaviour under test).
 */
export async function startRedisSentinel(options: RedisSentinelOptions = {}): Promise<RedisSentinelCluster> {
  requirePrograms('Redis Sentinel', ['redis-server', 'redis-sentinel']);
  try {
    return await startCluster(options, 40_000);
  } catch (e) {
    process.stderr.write(`redis fixture: first start failed, retrying on fresh ports:\n${String(e)}\n`);
    return await startCluster(options, 40_000);
  }
}

async function startCluster(options: RedisSentinelOptions, healthyTimeoutMs: number): Promise<RedisSentinelCluster> {
  const replicaCount = options.replicas ?? 1;
  const masterName = options.masterName ?? 'veloz-master';
  const password = options.password;
  const downAfter = options.downAfterMs ?? 1000;
  const root = await mkdtemp(join(tmpdir(), 'veloz-redis-'));
  const unregister: (() => void)[] = [];
  const nodes: RedisNode[] = [];
  const sentinels: RedisNode[] = [];
  for (let i = 0; i <= replicaCount; i++) nodes.push({ port: await freePort() });
  for (let i = 0; i < 3; i++) sentinels.push({ port: await freePort() });
  const masterPort = nodes[0]!.port;

  const launch = (node: RedisNode, bin: string, args: string[]): void => {
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'ignore'], cwd: root });
    node.process = child;
    unregister.push(killOnExit(child));
  };

  const command = async (port: number, ...args: string[]): Promise<RespValue> => {
    const conn = await respConnect('127.0.0.1', port, { signal: new AbortController().signal, timeoutMs: 3000 });
    try {
      if (password) await conn.command('AUTH', password);
      return await conn.command(...args);
    } finally {
      conn.close();
    }
  };

  const startNode = async (node: RedisNode, replicaOf?: number): Promise<void> => {
    const dir = join(root, `redis-${node.port}`);
    await mkdir(dir, { recursive: true });
    const args = [
      '--port',
      String(node.port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
      '--logfile',
      join(dir, 'log'),
      // Replicas sync at once instead of after Redis's default 5 s wait for more replicas to join.
      '--repl-diskless-sync-delay',
      '0',
    ];
    if (password) args.push('--requirepass', password, '--masterauth', password);
    if (replicaOf) args.push('--replicaof', '127.0.0.1', String(replicaOf));
    launch(node, REDIS_SERVER, args);
    // A server that exited (bad binary, port taken) ends the wait at once instead of after its 10 s.
    await waitFor(async () => throwIfExited(node.process, 'redis') && (await command(node.port, 'PING')) === 'PONG', {
      timeoutMs: 10_000,
      intervalMs: 50,
      what: `redis on ${node.port}`,
    });
  };

  const startSentinel = async (node: RedisNode): Promise<void> => {
    const dir = join(root, `sentinel-${node.port}`);
    await mkdir(dir, { recursive: true });
    const conf = join(dir, 'sentinel.conf');
    const lines = [
      `port ${node.port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `logfile ${join(dir, 'log')}`,
      `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} 2`,
      `sentinel down-after-milliseconds ${masterName} ${downAfter}`,
      `sentinel failover-timeout ${masterName} ${Math.max(3000, downAfter * 3)}`,
      `sentinel parallel-syncs ${masterName} 1`,
    ];
    if (password)
      lines.push(
        `sentinel auth-pass ${masterName} ${password}`,
        `requirepass ${password}`,
        `sentinel sentinel-pass ${password}`,
      );
    await writeFile(conf, `${lines.join('\n')}\n`);
    launch(node, REDIS_SENTINEL, [conf]);
    // A server that exited (bad binary, port taken) ends the wait at once instead of after its 10 s.
    await waitFor(
      async () => throwIfExited(node.process, 'sentinel') && (await command(node.port, 'PING')) === 'PONG',
      {
        timeoutMs: 10_000,
        intervalMs: 50,
        what: `sentinel on ${node.port}`,
      },
    );
  };

  const sentinelMaster = async (port: number): Promise<Record<string, string>> => {
    const reply = await command(port, 'SENTINEL', 'MASTER', masterName);
    if (reply instanceof RespError) throw reply;
    return toRecord(reply);
  };

  /** Throws, not returns: a timeout then says which sentinel saw what. */
  const healthy = async (replicas: number): Promise<boolean> => {
    for (const s of sentinels) {
      const m = await sentinelMaster(s.port);
      const others = Number(m['num-other-sentinels']);
      if (m.flags !== 'master' || others < sentinels.length - 1)
        throw new Error(`sentinel ${s.port}: master flags '${m.flags}', ${others} other sentinel(s)`);
      const reps = await command(s.port, 'SENTINEL', 'REPLICAS', masterName);
      const up = (Array.isArray(reps) ? reps.map(toRecord) : []).filter(
        (r) => r.flags === 'slave' && r['master-link-status'] === 'ok',
      );
      if (up.length < replicas) throw new Error(`sentinel ${s.port}: ${up.length} of ${replicas} replicas up`);
    }
    return true;
  };

  /** Every process's state, each sentinel's view of its peers and the tail of every log: a failed start explains itself. */
  const diagnose = async (): Promise<string> => {
    const lines: string[] = [];
    for (const [kind, list] of [
      ['redis', nodes],
      ['sentinel', sentinels],
    ] as const) {
      for (const n of list) {
        const p = n.process;
        const state = !p
          ? 'not started'
          : p.exitCode !== null || p.signalCode !== null
            ? `exited (${p.exitCode ?? p.signalCode})`
            : `running pid ${p.pid}`;
        lines.push(`${kind} ${n.port}: ${state}`);
        if (kind === 'sentinel') {
          const peers = await command(n.port, 'SENTINEL', 'SENTINELS', masterName).catch((e: unknown) => e);
          const view = Array.isArray(peers)
            ? peers
                .map(toRecord)
                .map((r) => `${r.port} ${r.flags} last-hello ${r['last-hello-message']} ms`)
                .join('; ')
            : String(peers);
          lines.push(`  peers: ${view || 'none'}`);
        }
        const log = await readFile(join(root, `${kind}-${n.port}`, 'log'), 'utf8').catch(() => '');
        lines.push(
          ...log
            .trim()
            .split('\n')
            .slice(-15)
            .map((l) => `  | ${l}`),
        );
      }
    }
    return lines.join('\n');
  };

  const cluster: RedisSentinelCluster = {
    masterName,
    password,
    nodes,
    sentinels,
    sentinelAddresses: sentinels.map((s) => `127.0.0.1:${s.port}`),
    command,
    async currentMasterPort() {
      return Number((await sentinelMaster(sentinels[0]!.port)).port);
    },
    async killMaster() {
      const port = await cluster.currentMasterPort();
      const node = nodes.find((n) => n.port === port)!;
      await stopChild(node.process, 'SIGKILL');
      return port;
    },
    async waitForFailover(oldPort, timeoutMs = 30_000) {
      let newPort = 0;
      await waitFor(
        async () => {
          const views = await Promise.all(sentinels.map((s) => sentinelMaster(s.port)));
          const ports = new Set(views.map((v) => Number(v.port)));
          if (ports.size !== 1 || ports.has(oldPort) || !views.every((v) => v.flags === 'master')) return false;
          newPort = [...ports][0]!;
          return true;
        },
        { timeoutMs, intervalMs: 200, what: `sentinels to fail over away from ${oldPort}` },
      );
      return newPort;
    },
    async restartNode(port) {
      const node = nodes.find((n) => n.port === port)!;
      // Started as a master of nothing: Sentinel reconfigures it as a replica of the new master.
      await startNode(node);
    },
    // 60 s: a Sentinel that finds its timer late on a loaded machine enters TILT mode for 30 s.
    async waitHealthy(replicas = replicaCount, timeoutMs = 60_000) {
      try {
        await waitFor(() => healthy(replicas), {
          timeoutMs,
          intervalMs: 200,
          what: 'sentinels to report a healthy master',
        });
      } catch (e) {
        throw new Error(`${String(e instanceof Error ? e.message : e)}\n${await diagnose()}`, { cause: e });
      }
    },
    async stop() {
      await Promise.all([...sentinels, ...nodes].map((n) => stopChild(n.process, 'SIGTERM', 3000)));
      for (const u of unregister) u();
      await rm(root, { recursive: true, force: true });
    },
  };

  try {
    await startNode(nodes[0]!);
    for (const n of nodes.slice(1)) await startNode(n, masterPort);
    for (const s of sentinels) await startSentinel(s);
    await cluster.waitHealthy(replicaCount, healthyTimeoutMs);
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
