/**
 * A real PostgreSQL primary (+ optional streaming standby, + optional WAL archiving) on 127.0.0.1
 * for tests. PostgreSQL refuses to run as root, so every server binary runs as the `postgres` user
 * (spawn's uid/gid: the server stays our direct child, so stop() and process exit can kill it).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, appendFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { postgresBinDir, requirePrograms } from '../prerequisites';
import { freePort, killOnExit, waitFor } from './server-process';

/** The server binaries of whichever major is installed (15 on Debian 12, 16 on ubuntu-24.04). */
export const PG_BIN = postgresBinDir() ?? '/usr/lib/postgresql/(none installed)/bin';

export interface PgNode {
  /** 'primary', 'standby', or the name given to startServer(). */
  name: string;
  port: number;
  dataDir: string;
  running: boolean;
}

export interface PgClusterOptions {
  standby?: boolean;
  /** archive_mode=on with archive_command copying into `archiveDir`. Default true. */
  archive?: boolean;
}

export interface PgCluster {
  host: '127.0.0.1';
  primary: PgNode;
  standby?: PgNode;
  /** Where archive_command copies WAL segments (restore_command can copy from here for PITR). */
  archiveDir: string;
  /** A temp dir owned by the postgres user, removed by stop(): put extra data dirs here. */
  root: string;
  /** Runs a PostgreSQL tool from PG_BIN (pg_basebackup, pg_ctl, psql…) as the postgres user; resolves stdout. */
  tool(bin: string, args: string[]): Promise<string>;
  /** Starts another server on an existing data dir (e.g. a PITR restore); stop() stops it too. */
  startServer(name: string, dataDir: string, port?: number): Promise<PgNode>;
  /** Stops a server started by this cluster (fast shutdown). */
  stopServer(node: PgNode): Promise<void>;
  /** Superuser URL (trust auth, no password) for a node. */
  url(node?: 'primary' | 'standby', database?: string): string;
  /** Runs SQL as superuser via psql; returns trimmed unaligned output. */
  sql(query: string, node?: 'primary' | 'standby'): Promise<string>;
  /** Creates a login role with a password (scram over TCP); `monitor` grants pg_monitor. */
  createUser(name: string, password: string, opts?: { monitor?: boolean }): Promise<string>;
  /** Writes roughly `bytes` of WAL on the primary. */
  writeWal(bytes: number): Promise<void>;
  /** Forces a WAL segment switch (so the archiver has something to archive). */
  switchWal(): Promise<void>;
  stopStandby(): Promise<void>;
  startStandby(): Promise<void>;
  /** Pauses WAL replay on the standby (it keeps streaming, replay lag grows with writes). */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Makes archive_command fail, forces a switch and waits until pg_stat_archiver records the failure. */
  breakArchiving(): Promise<void>;
  /** Restores archive_command and waits until a segment is archived again. */
  fixArchiving(): Promise<void>;
  /** Waits until pg_stat_replication shows `count` standbys streaming. */
  waitForStreaming(count: number, timeoutMs?: number): Promise<void>;
  /** Waits until at least one segment is archived. */
  waitForArchive(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

let cachedIds: { uid: number; gid: number } | undefined;
async function postgresIds(): Promise<{ uid: number; gid: number }> {
  if (cachedIds) return cachedIds;
  const passwd = await readFile('/etc/passwd', 'utf8');
  const line = passwd.split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres user: apt-get install postgresql');
  const f = line.split(':');
  cachedIds = { uid: Number(f[2]), gid: Number(f[3]) };
  return cachedIds;
}

function runAs(
  ids: { uid: number; gid: number },
  bin: string,
  args: string[],
  env?: NodeJS.ProcessEnv,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      join(PG_BIN, bin),
      args,
      { uid: ids.uid, gid: ids.gid, env: { ...process.env, ...env, HOME: tmpdir() }, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${bin} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
    killOnExit(child);
  });
}

export async function startPostgres(options: PgClusterOptions = {}): Promise<PgCluster> {
  requirePrograms('PostgreSQL', [
    'postgres',
    'initdb',
    'pg_isready',
    'psql',
    ...(options.standby ? ['pg_basebackup'] : []),
  ]);
  const ids = await postgresIds();
  const root = await mkdtemp(join(tmpdir(), 'veloz-pg-'));
  await chown(root, ids.uid, ids.gid);
  const archiveDir = join(root, 'archive');
  const socketDir = join(root, 'sock');
  for (const d of [archiveDir, socketDir]) {
    await mkdir(d);
    await chown(d, ids.uid, ids.gid);
  }
  const archive = options.archive ?? true;
  const procs = new Map<string, ChildProcess>(); // by data dir
  const unregister: (() => void)[] = [];

  const primary: PgNode = { name: 'primary', port: await freePort(), dataDir: join(root, 'primary'), running: false };
  await runAs(ids, 'initdb', [
    '-D',
    primary.dataDir,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-sync',
    '--no-instructions',
  ]);
  // Settings go into postgresql.conf (not -c flags) so pg_basebackup copies them to the standby.
  const archiveCommand = `test ! -f ${archiveDir}/%f && cp %p ${archiveDir}/%f`;
  await appendFile(
    join(primary.dataDir, 'postgresql.conf'),
    [
      "listen_addresses = '127.0.0.1'",
      `unix_socket_directories = '${socketDir}'`,
      'wal_level = replica',
      'max_wal_senders = 5',
      'fsync = off',
      'full_page_writes = off',
      'shared_buffers = 16MB',
      'max_connections = 30',
      'wal_sender_timeout = 5s',
      'wal_receiver_status_interval = 1s',
      `archive_mode = ${archive ? 'on' : 'off'}`,
      `archive_command = '${archiveCommand}'`,
      '',
    ].join('\n'),
  );
  // trust for the superuser, scram for everyone else: tests exercise password URLs for real.
  await writeFile(
    join(primary.dataDir, 'pg_hba.conf'),
    [
      'local all all trust',
      'host all postgres 127.0.0.1/32 trust',
      'host replication all 127.0.0.1/32 trust',
      'host all all 127.0.0.1/32 scram-sha-256',
      '',
    ].join('\n'),
  );

  const start = async (node: PgNode): Promise<void> => {
    const child = spawn(join(PG_BIN, 'postgres'), ['-D', node.dataDir, '-c', `port=${node.port}`], {
      uid: ids.uid,
      gid: ids.gid,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, HOME: root },
    });
    let log = '';
    child.stderr!.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-8000);
    });
    procs.set(node.dataDir, child);
    unregister.push(killOnExit(child, 'SIGINT'));
    node.running = true;
    child.once('exit', () => {
      node.running = false;
    });
    await waitFor(
      async () => {
        if (!node.running) throw new Error(`postgres ${node.name} exited:\n${log}`);
        try {
          await runAs(ids, 'pg_isready', ['-h', '127.0.0.1', '-p', String(node.port), '-U', 'postgres', '-q']);
          return true;
        } catch {
          return false;
        }
      },
      { timeoutMs: 30_000, intervalMs: 100, what: `postgres ${node.name} on port ${node.port}` },
    );
  };
  const stopNode = async (node: PgNode): Promise<void> => {
    const child = procs.get(node.dataDir);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGINT'); // fast shutdown: abort transactions, no waiting for clients
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };

  const psql = async (query: string, port: number): Promise<string> =>
    (
      await runAs(ids, 'psql', [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-U',
        'postgres',
        '-d',
        'postgres',
        '-XAtq',
        '-v',
        'ON_ERROR_STOP=1',
        '-c',
        query,
      ])
    ).trim();

  /** Changes archive_command, then writes WAL until pg_stat_archiver's `newer` time passes its `older`. */
  const setArchiveCommand = async (
    statement: string,
    newer: 'last_failed_time' | 'last_archived_time',
    older: 'last_failed_time' | 'last_archived_time',
    timeoutMs: number,
  ): Promise<void> => {
    await psql(statement, primary.port);
    await psql('SELECT pg_reload_conf()', primary.port);
    await waitFor(
      async () => {
        await cluster.writeWal(1000);
        await cluster.switchWal();
        const r = await psql(
          `SELECT coalesce(${newer} > coalesce(${older}, '-infinity'), false) FROM pg_stat_archiver`,
          primary.port,
        );
        return r === 't';
      },
      { timeoutMs, intervalMs: 400, what: `archiver: ${newer} after ${older}` },
    );
  };

  const cluster: PgCluster = {
    host: '127.0.0.1',
    primary,
    archiveDir,
    root,
    tool: (bin, args) => runAs(ids, bin, args),
    async startServer(name, dataDir, port) {
      const node: PgNode = { name, port: port ?? (await freePort()), dataDir, running: false };
      await chown(dataDir, ids.uid, ids.gid).catch(() => undefined);
      await start(node);
      return node;
    },
    stopServer: (node) => stopNode(node),
    url: (node = 'primary', database = 'postgres') =>
      `postgres://postgres@127.0.0.1:${node === 'primary' ? primary.port : cluster.standby!.port}/${database}`,
    sql: (query, node = 'primary') => psql(query, node === 'primary' ? primary.port : cluster.standby!.port),
    async createUser(name, password, opts = {}) {
      const pw = password.replace(/'/g, "''");
      await psql(`CREATE ROLE "${name}" LOGIN PASSWORD '${pw}'`, primary.port);
      if (opts.monitor) await psql(`GRANT pg_monitor TO "${name}"`, primary.port);
      return `postgres://${encodeURIComponent(name)}:${encodeURIComponent(password)}@127.0.0.1:${primary.port}/postgres`;
    },
    async writeWal(bytes) {
      const rows = Math.ceil(bytes / 1000);
      await psql(
        `CREATE TABLE IF NOT EXISTS walfill (x text); INSERT INTO walfill SELECT repeat(md5(g::text), 31) FROM generate_series(1, ${rows}) g`,
        primary.port,
      );
    },
    async switchWal() {
      await psql('SELECT pg_switch_wal()', primary.port);
    },
    async stopStandby() {
      if (!cluster.standby) return;
      await stopNode(cluster.standby);
      // The primary notices the walsender's peer is gone at once on a clean shutdown.
      await waitFor(async () => (await psql('SELECT count(*) FROM pg_stat_replication', primary.port)) === '0', {
        timeoutMs: 15_000,
        what: 'standby to leave pg_stat_replication',
      });
    },
    async startStandby() {
      if (!cluster.standby) throw new Error('cluster has no standby');
      await start(cluster.standby);
      await cluster.waitForStreaming(1);
    },
    async pauseReplay() {
      await psql('SELECT pg_wal_replay_pause()', cluster.standby!.port);
    },
    async resumeReplay() {
      await psql('SELECT pg_wal_replay_resume()', cluster.standby!.port);
    },
    async breakArchiving() {
      // The archiver only rereads its config between attempts; keep switching until it fails.
      await setArchiveCommand(
        `ALTER SYSTEM SET archive_command = 'false'`,
        'last_failed_time',
        'last_archived_time',
        20_000,
      );
    },
    async fixArchiving() {
      // After a failure the archiver waits up to 60 s before retrying unless woken by a new segment.
      await setArchiveCommand('ALTER SYSTEM RESET archive_command', 'last_archived_time', 'last_failed_time', 70_000);
    },
    async waitForStreaming(count, timeoutMs = 20_000) {
      await waitFor(
        async () =>
          Number(
            await psql(
              "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming' AND replay_lsn IS NOT NULL",
              primary.port,
            ),
          ) >= count,
        { timeoutMs, intervalMs: 100, what: `${count} standby(s) streaming` },
      );
    },
    async waitForArchive(timeoutMs = 20_000) {
      await waitFor(
        async () => {
          const n = Number(await psql('SELECT archived_count FROM pg_stat_archiver', primary.port));
          if (n > 0) return true;
          await cluster.switchWal();
          return false;
        },
        { timeoutMs, intervalMs: 300, what: 'a WAL segment to be archived' },
      );
    },
    async stop() {
      for (const child of procs.values()) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      }
      for (const node of [cluster.standby, primary]) if (node) await stopNode(node);
      await Promise.all(
        [...procs.values()].map((c) =>
          c.exitCode !== null || c.signalCode !== null
            ? undefined
            : new Promise<void>((r) => {
                const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
                c.once('exit', () => (clearTimeout(t), r()));
              }),
        ),
      );
      for (const u of unregister) u();
      await rm(root, { recursive: true, force: true });
    },
  };

  try {
    await start(primary);
    if (options.standby) {
      const standby: PgNode = {
        name: 'standby',
        port: await freePort(),
        dataDir: join(root, 'standby'),
        running: false,
      };
      await runAs(ids, 'pg_basebackup', [
        '-h',
        '127.0.0.1',
        '-p',
        String(primary.port),
        '-U',
        'postgres',
        '-D',
        standby.dataDir,
        '-R',
        '-X',
        'stream',
        '--no-sync',
      ]);
      await chmod(standby.dataDir, 0o700);
      cluster.standby = standby;
      await start(standby);
      await cluster.waitForStreaming(1);
    }
    if (archive) await cluster.waitForArchive();
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
