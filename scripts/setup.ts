/**
 * `npm run setup [-- demo|test|lint|bench ...]`: installs the Debian packages (scripts/debian-packages.txt)
 * whose programs are missing, for the purposes named (default: all). As root it runs apt-get; with
 * password-less sudo, sudo apt-get; otherwise it prints the exact command and exits 1. Nothing missing:
 * it says so and installs nothing.
 */
import { spawnSync } from 'node:child_process';
import {
  debianPackages,
  findProgram,
  installCommand,
  missingPrograms,
  type Purpose,
} from '@veloz/harness/prerequisites';

const PURPOSES: readonly Purpose[] = ['demo', 'test', 'lint', 'bench'];
const APT_TIMEOUT_MS = 15 * 60_000;

const asked = process.argv.slice(2).filter((a) => a !== '--');
const bad = asked.filter((a) => !PURPOSES.includes(a as Purpose));
if (bad.length > 0) {
  console.error(`setup: unknown purpose ${bad.join(', ')}; expected any of ${PURPOSES.join(', ')}`);
  process.exit(2);
}
const purposes = asked.length > 0 ? (asked as Purpose[]) : PURPOSES;
const packages = debianPackages();
const missing = purposes.flatMap((purpose) => missingPrograms(purpose, undefined, packages));
const toInstall = [...new Set(missing.map((m) => m.package))];

if (toInstall.length === 0) {
  console.log(`setup: every program for ${purposes.join(', ')} is installed; nothing to do.`);
  process.exit(0);
}
console.log(`setup: missing ${[...new Set(missing.map((m) => m.program))].join(', ')}`);

const sudo = runsAsRoot() ? [] : canSudo() ? ['sudo', '-n'] : undefined;
if (!sudo || !findProgram('apt-get')) {
  console.error(
    `setup: cannot install here (${findProgram('apt-get') ? 'not root and no password-less sudo' : 'no apt-get'}). Run:\n` +
      `  sudo apt-get update && ${installCommand(toInstall)}`,
  );
  process.exit(1);
}
const apt = (args: string[]): void => {
  const [bin, ...rest] = [...sudo, 'apt-get', ...args];
  console.log(`setup: ${[bin, ...rest].join(' ')}`);
  const r = spawnSync(bin!, rest, {
    stdio: 'inherit',
    timeout: APT_TIMEOUT_MS,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) {
    console.error(`setup: apt-get ${args[0]} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
    process.exit(1);
  }
};
apt(['update', '-qq']);
apt(['install', '-y', '-qq', '--no-install-recommends', ...toInstall]);

const still = purposes.flatMap((purpose) => missingPrograms(purpose, undefined, debianPackages()));
if (still.length > 0) {
  console.error(`setup: still missing after the install: ${still.map((m) => m.program).join(', ')}`);
  process.exit(1);
}
console.log(`setup: installed ${toInstall.join(', ')}`);

function runsAsRoot(): boolean {
  return process.getuid?.() === 0;
}

function canSudo(): boolean {
  return spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}
