/**
 * Figure 9's split of resident memory (bench/memory-map.ts): glibc's thread arenas are told apart from
 * V8's pages by their 64 MiB reservation, not by alignment alone.
 */
import { expect, test } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { memoryMap, memoryMapOf } from '../../bench/memory-map';

const mapping = (range: string, perms: string, name: string, rss: number, anonymous: number) =>
  `${range} ${perms} 00000000 00:00 0${name ? `                          ${name}` : ' '}\n` +
  `Size:               1 kB\nRss:             ${rss} kB\nAnonymous:       ${anonymous} kB\nVmFlags: rd wr mr mw me ac\n`;

test('each mapping lands in its part', () => {
  const smaps = [
    mapping('55d0c0000000-55d0c0100000', 'r-xp', '/usr/bin/node', 900, 0),
    mapping('55d0c2000000-55d0c5000000', 'rw-p', '[heap]', 40_000, 40_000),
    // a thread arena: 2 MiB committed at the start of its 64 MiB reservation
    mapping('7f0004000000-7f0004200000', 'rw-p', '', 1_800, 1_800),
    mapping('7f0004200000-7f0008000000', '---p', '', 0, 0),
    // a V8 page that happens to start on a 64 MiB boundary, next to a guard that does not complete 64 MiB
    mapping('3842ac000000-3842ac040000', 'rw-p', '', 256, 256),
    mapping('3842ac040000-3842ac080000', '---p', '', 0, 0),
    mapping('7f0010000000-7f0010600000', 'rw-p', '', 5_000, 5_000),
  ].join('');
  expect(memoryMapOf(smaps)).toEqual({
    mainArenaKiB: 40_000,
    threadArenasKiB: 1_800,
    otherAnonymousKiB: 5_256,
    fileKiB: 900,
  });
});

test("this process's parts add up to its resident memory", async () => {
  const map = await memoryMap(process.pid);
  const status = await readFile('/proc/self/status', 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]);
  expect(map).toBeDefined();
  const anonymous = map!.mainArenaKiB + map!.threadArenasKiB + map!.otherAnonymousKiB;
  // two reads a moment apart: within 5%
  expect(Math.abs(anonymous - kib('RssAnon')) / kib('RssAnon')).toBeLessThan(0.05);
  expect(Math.abs(map!.fileKiB - kib('RssFile') - kib('RssShmem')) / kib('RssFile')).toBeLessThan(0.05);
  expect(map!.mainArenaKiB).toBeGreaterThan(0);
});

test('a process that has gone has no map', async () => {
  expect(await memoryMap(2 ** 22 + 1)).toBeUndefined();
});
