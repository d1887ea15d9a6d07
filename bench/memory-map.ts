/**
 * Where a process's resident memory lies, from /proc/<pid>/smaps: glibc's main arena (the brk heap),
 * glibc's thread arenas, the rest of anonymous memory (V8's heap pages, code range and large
 * allocations) and file-backed pages (the node binary and libraries). Figure 9 shows it at both ends
 * of the window, so a change in peak RSS comes with the part that changed.
 */
import { readFile } from 'node:fs/promises';

export interface MemoryMap {
  mainArenaKiB: number;
  threadArenasKiB: number;
  otherAnonymousKiB: number;
  fileKiB: number;
}

/** glibc allocates each thread arena as one 64 MiB-aligned 64 MiB reservation, committed from its start. */
const ARENA_BYTES = 64n << 20n;

interface Mapping {
  start: bigint;
  end: bigint;
  perms: string;
  name: string;
  anonymousKiB: number;
  rssKiB: number;
}

function mappings(smaps: string): Mapping[] {
  const out: Mapping[] = [];
  for (const block of smaps.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const h = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+[ \t]*(.*)$/m.exec(block);
    if (!h) continue;
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(block)?.[1] ?? 0);
    out.push({
      start: BigInt(`0x${h[1]}`),
      end: BigInt(`0x${h[2]}`),
      perms: h[3]!,
      name: h[4]!.trim(),
      anonymousKiB: field('Anonymous'),
      rssKiB: field('Rss'),
    });
  }
  return out;
}

export function memoryMapOf(smaps: string): MemoryMap {
  const map: MemoryMap = { mainArenaKiB: 0, threadArenasKiB: 0, otherAnonymousKiB: 0, fileKiB: 0 };
  const all = mappings(smaps);
  all.forEach((m, i) => {
    map.fileKiB += m.rssKiB - m.anonymousKiB;
    if (m.name === '[heap]') return void (map.mainArenaKiB += m.anonymousKiB);
    const next = all[i + 1];
    const reserved = next && next.start === m.end && next.perms === '---p' && next.name === '' ? next.end : m.end;
    const arena = m.name === '' && m.start % ARENA_BYTES === 0n && reserved - m.start === ARENA_BYTES;
    if (arena) map.threadArenasKiB += m.anonymousKiB;
    else map.otherAnonymousKiB += m.anonymousKiB;
  });
  return map;
}

export async function memoryMap(pid: number): Promise<MemoryMap | undefined> {
  const smaps = await readFile(`/proc/${pid}/smaps`, 'utf8').catch(() => undefined);
  return smaps === undefined ? undefined : memoryMapOf(smaps);
}
