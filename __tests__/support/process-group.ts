/** The processes of a detached child's process group: what a script that ended left behind. */
import { spawnSync } from 'node:child_process';

/** Processes still in the process group `pgid` (ps reads /proc, so zombies reaped by init are gone). */
export function groupMembers(pgid: number): string[] {
  const ps = spawnSync('ps', ['-eo', 'pid=,pgid=,comm='], { encoding: 'utf8' });
  return ps.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => Number(f[1]) === pgid)
    .map((f) => `${f[0]} ${f[2]}`);
}

/** The group's members once it is empty, or those still there after `withinMs`. */
export async function groupEmpties(pgid: number, withinMs: number): Promise<string[]> {
  const deadline = Date.now() + withinMs;
  let members = groupMembers(pgid);
  while (members.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    members = groupMembers(pgid);
  }
  return members;
}
