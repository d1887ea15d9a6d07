/**
 * The programs the demo, the tests, lint and the bench run, from the one list of Debian packages
 * (scripts/debian-packages.txt). Everything that starts a server checks here first, so a missing
 * program fails in milliseconds, naming it, its package and the command that installs it — before
 * anything was started that could be left behind.
 */
import { accessSync, constants, existsSync, readFileSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { REPO_ROOT } from './index';

export type Purpose = 'demo' | 'test' | 'lint' | 'bench';

export interface DebianPackage {
  name: string;
  programs: string[];
  for: Purpose[];
}

export const PACKAGE_LIST = join(REPO_ROOT, 'scripts/debian-packages.txt');

export function debianPackages(text = readFileSync(PACKAGE_LIST, 'utf8')): DebianPackage[] {
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((line) => {
      const [name, ...fields] = line.split(/\s+/);
      const field = (key: string): string[] =>
        (fields.find((f) => f.startsWith(`${key}=`)) ?? `${key}=`)
          .slice(key.length + 1)
          .split(',')
          .filter(Boolean);
      return { name: name!, programs: field('programs'), for: field('for') as Purpose[] };
    });
}

/** PostgreSQL's server binaries are not on PATH on Debian: `pg_config --bindir`'s layout, newest major. */
export function postgresBinDir(): string | undefined {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'postgres'))) : [];
  const newest = majors.sort((a, b) => Number(a) - Number(b)).at(-1);
  return newest ? join(root, newest, 'bin') : undefined;
}

const POSTGRES_SERVER_PROGRAMS = new Set(['postgres', 'initdb', 'pg_basebackup', 'pg_isready', 'pg_ctl']);

/** Programs the fixtures run from a variable when it is set (another build, or the runner's Chrome). */
const OVERRIDES: Record<string, string> = {
  chromium: 'CHROMIUM',
  prometheus: 'PROMETHEUS_BIN',
  'docker-registry': 'REGISTRY_BIN',
  'redis-server': 'REDIS_SERVER',
  'redis-sentinel': 'REDIS_SENTINEL',
};

/** Where `program` would be run from, or undefined when it is not installed (PATH as the child sees it). */
export function findProgram(program: string, path = process.env.PATH ?? ''): string | undefined {
  const override = OVERRIDES[program] ? process.env[OVERRIDES[program]] : undefined;
  if (override) return executable(override) ? override : undefined;
  const dirs = path.split(delimiter).filter(Boolean);
  const bindir = POSTGRES_SERVER_PROGRAMS.has(program) ? postgresBinDir() : undefined;
  for (const dir of bindir ? [bindir, ...dirs] : dirs) {
    const candidate = join(dir, program);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface Missing {
  program: string;
  package: string;
}

export function missingPrograms(purpose: Purpose, path?: string, packages = debianPackages()): Missing[] {
  return packages
    .filter((p) => p.for.includes(purpose))
    .flatMap((p) => p.programs.map((program) => ({ program, package: p.name })))
    .filter((m) => !findProgram(m.program, path));
}

export function installCommand(packages: readonly string[]): string {
  return `sudo apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

export class MissingPrograms extends Error {
  constructor(
    readonly what: string,
    readonly missing: Missing[],
  ) {
    const packages = [...new Set(missing.map((m) => m.package))];
    super(
      `${what} needs ${missing.map((m) => `${m.program} (Debian package ${m.package})`).join(', ')}, ` +
        `not found on PATH. Install them with \`npm run setup\`, or: ${installCommand(packages)}`,
    );
    this.name = 'MissingPrograms';
  }
}

/** Throws MissingPrograms naming every program of `purpose` (or of the given list) that is not installed. */
export function requirePrograms(what: string, programs: Purpose | readonly string[]): void {
  const packages = debianPackages();
  const missing =
    typeof programs === 'string'
      ? missingPrograms(programs, undefined, packages)
      : programs
          .filter((program) => !findProgram(program))
          .map((program) => ({
            program,
            package: packages.find((p) => p.programs.includes(program))?.name ?? program,
          }));
  if (missing.length > 0) throw new MissingPrograms(what, missing);
}
