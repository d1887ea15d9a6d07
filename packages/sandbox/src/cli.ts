import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { FaultStatus } from './api/faults';
import { FAULT_USAGE, formatFault, parseFaultRule } from './fault-cli';
import { httpsCall, startSandbox, type Sandbox } from './sandbox';
import { TOOL_NAMES, toolPath, type ToolName } from './tools';

const USAGE = `usage:
  veloz-sandbox start --kubeconfig FILE [--port N] [--profile IMAGE=PROFILE[:k=v,...] ...]
                      [--startup-delay MS] [--nodes N] [--token T] [--test-token T] [--journal FILE]
      Runs the sandbox in the foreground until SIGINT/SIGTERM. Profiles: healthy, never-ready,
      crashloop, missing, oom, degrade.
  veloz-sandbox tool kubectl|kubectl-1.33|kubectl-1.31|helm3|helm4
      Prints the path of a pinned real client binary (unpacked on first use).
  veloz-sandbox profile --kubeconfig FILE IMAGE=PROFILE[:k=v,...]
      Changes an image's profile on a running sandbox.
  veloz-sandbox journal --kubeconfig FILE
      Prints the running sandbox's request journal (JSON lines).
  veloz-sandbox targets --kubeconfig FILE
      Prints the engine doubles' Prometheus scrape targets (file_sd_configs JSON, with pod labels).
  veloz-sandbox gateways --kubeconfig FILE
      Prints each programmed Gateway's listener: {"<namespace>/<gateway>": "http://127.0.0.1:PORT"}.
${FAULT_USAGE}`;

interface Flags {
  positional: string[];
  values: Map<string, string[]>;
}

function parseFlags(argv: string[]): Flags {
  const positional: string[] = [];
  const values = new Map<string, string[]>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const key = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new Error(`--${key} needs a value`);
    values.set(key, [...(values.get(key) ?? []), value]);
  }
  return { positional, values };
}

const one = (f: Flags, key: string): string | undefined => f.values.get(key)?.at(-1);

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'start':
        return await start(parseFlags(rest));
      case 'tool': {
        const name = rest[0] as ToolName | undefined;
        if (!name || !(TOOL_NAMES as readonly string[]).includes(name))
          throw new Error(`tool expects one of ${TOOL_NAMES.join(', ')}`);
        process.stdout.write(`${await toolPath(name)}\n`);
        return 0;
      }
      case 'profile':
        return await control(parseFlags(rest), 'profile');
      case 'journal':
        return await control(parseFlags(rest), 'journal');
      case 'targets':
        return await control(parseFlags(rest), 'targets');
      case 'gateways':
        return await control(parseFlags(rest), 'gateways');
      case 'fault':
        return await fault(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return command === undefined ? 2 : 0;
      default:
        throw new Error(`unknown command "${command}"`);
    }
  } catch (err) {
    process.stderr.write(`veloz-sandbox: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

async function start(f: Flags): Promise<number> {
  const kubeconfigPath = one(f, 'kubeconfig');
  if (!kubeconfigPath) throw new Error('start needs --kubeconfig FILE');
  const port = one(f, 'port');
  const delay = one(f, 'startup-delay');
  const nodes = one(f, 'nodes');
  const token = one(f, 'token');
  const testToken = one(f, 'test-token');
  const sandbox = await startSandbox({
    kubeconfigPath,
    ...(port ? { port: Number(port) } : {}),
    ...(delay ? { podStartupDelayMs: Number(delay) } : {}),
    ...(nodes ? { nodes: Number(nodes) } : {}),
    ...(token ? { token } : {}),
    ...(testToken ? { testToken } : {}),
    profiles: f.values.get('profile') ?? [],
  });
  process.stdout.write(
    `veloz-sandbox listening on ${sandbox.url}\nkubeconfig: ${kubeconfigPath}\ntest token: ${sandbox.testToken}\n` +
      sandbox.profiles
        .entries()
        .map(
          ([image, spec]) =>
            `profile: ${image} -> ${spec.name}${
              Object.keys(spec.params).length
                ? `:${Object.entries(spec.params)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(',')}`
                : ''
            }\n`,
        )
        .join(''),
  );
  const journalPath = one(f, 'journal');
  await new Promise<void>((resolve) => {
    const shutdown = (): void => {
      process.off('SIGINT', shutdown);
      process.off('SIGTERM', shutdown);
      // Bounded: a client holding a connection open must not keep a stopped sandbox alive.
      const bound = setTimeout(resolve, 10_000);
      void finish(sandbox, journalPath).finally(() => {
        clearTimeout(bound);
        resolve();
      });
    };
    process.on('SIGINT', shutdown);
    process.on('SIGTERM', shutdown);
  });
  return 0;
}

async function finish(sandbox: Sandbox, journalPath: string | undefined): Promise<void> {
  if (journalPath) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(journalPath, sandbox.journal.dump());
  }
  await sandbox.stop();
}

/** The running sandbox's address, CA and admin token, from the kubeconfig `start` wrote. */
async function sandboxAt(path: string): Promise<{ server: string; ca: string; token: string }> {
  const cfg = parseYaml(await readFile(path, 'utf8')) as {
    clusters?: { cluster?: { server?: string; 'certificate-authority-data'?: string } }[];
    users?: { user?: { token?: string } }[];
  };
  const cluster = cfg.clusters?.[0]?.cluster;
  const token = cfg.users?.[0]?.user?.token;
  if (!cluster?.server || !token || !cluster['certificate-authority-data'])
    throw new Error(`${path} is not a sandbox kubeconfig`);
  const ca = Buffer.from(cluster['certificate-authority-data'], 'base64').toString('utf8');
  return { server: cluster.server, ca, token };
}

/** Talks to a running sandbox through its own API (the /sandbox control endpoints). */
async function control(f: Flags, what: 'profile' | 'journal' | 'targets' | 'gateways'): Promise<number> {
  const path = one(f, 'kubeconfig');
  if (!path) throw new Error(`${what} needs --kubeconfig FILE of the running sandbox`);
  const { server, ca, token } = await sandboxAt(path);
  if (what !== 'profile') {
    const res = await httpsCall(server, ca, 'GET', `/sandbox/${what}`, token);
    if (res.status !== 200) throw new Error(`${what}: ${res.status} ${res.text}`);
    process.stdout.write(res.text.endsWith('\n') || res.text === '' ? res.text : `${res.text}\n`);
    return 0;
  }
  const assignment = f.positional[0];
  if (!assignment) throw new Error('profile needs IMAGE=PROFILE[:k=v,...]');
  const res = await httpsCall(server, ca, 'POST', '/sandbox/profiles', token, { assignment });
  if (res.status !== 200)
    throw new Error(
      `profile: ${(res.json as { message?: string } | undefined)?.message ?? `${res.status} ${res.text}`}`,
    );
  process.stdout.write(`${assignment}\n`);
  return 0;
}

/** `fault --kubeconfig FILE add ... | list | clear [ID]`. */
async function fault(argv: string[]): Promise<number> {
  const at = argv.findIndex((a) => a === '--kubeconfig' || a.startsWith('--kubeconfig='));
  const path = at < 0 ? undefined : argv[at]!.includes('=') ? argv[at]!.split('=').slice(1).join('=') : argv[at + 1];
  if (!path) throw new Error('fault needs --kubeconfig FILE of the running sandbox');
  const rest = argv.filter((_, i) => i !== at && !(i === at + 1 && !argv[at]!.includes('=')));
  const [sub, ...args] = rest;
  const rule = sub === 'add' ? parseFaultRule(args) : undefined; // a bad flag fails before any request
  const { server, ca, token } = await sandboxAt(path);
  const call = async (method: string, route: string, body?: unknown): Promise<unknown> => {
    const res = await httpsCall(server, ca, method, route, token, body);
    if (res.status !== 200)
      throw new Error(
        `fault ${sub}: ${(res.json as { message?: string } | undefined)?.message ?? `${res.status} ${res.text}`}`,
      );
    return res.json;
  };
  switch (sub) {
    case 'add': {
      const { id } = (await call('POST', '/sandbox/faults', rule)) as { id: number };
      const [added] = ((await call('GET', '/sandbox/faults')) as FaultStatus[]).filter((f) => f.id === id);
      process.stdout.write(`${added ? formatFault(added) : `${id}`}\n`);
      return 0;
    }
    case 'list': {
      const faults = (await call('GET', '/sandbox/faults')) as FaultStatus[];
      process.stdout.write(faults.map((f) => `${formatFault(f)}\n`).join(''));
      return 0;
    }
    case 'clear': {
      if (args.length > 1 || (args[0] !== undefined && !/^\d+$/.test(args[0])))
        throw new Error(
          `fault clear takes an optional fault id (a number from \`fault list\`), not "${args.join(' ')}"`,
        );
      const { cleared } = (await call('DELETE', `/sandbox/faults${args[0] ? `/${args[0]}` : ''}`)) as {
        cleared: number;
      };
      process.stdout.write(`cleared ${cleared} fault(s)\n`);
      return 0;
    }
    default:
      throw new Error(`fault expects add, list or clear${sub ? `, not "${sub}"` : ''}`);
  }
}
