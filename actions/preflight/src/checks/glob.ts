/**
 * A small glob for backup paths (`/backups/full-*.tar.gz`, `/backups/2025-??/*.dump`): `*`, `?` and
 * `[abc]`/`[a-z]`/`[!x]` within a path segment; no `**`, no braces. node:fs glob is experimental in 20.
 * Wildcards do not match a leading dot, as in the shell.
 */
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, resolve, sep } from 'node:path';

interface GlobMatch {
  path: string;
  mtimeMs: number;
  size: number;
}

const hasWildcard = (segment: string): boolean => /[*?[]/.test(segment);

/** Compiles one path segment into a RegExp. */
export function segmentPattern(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = segment.slice(i + 1, end);
      const negate = body.startsWith('!') || body.startsWith('^');
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Files (not directories) matching `pattern`, relative patterns resolved against `cwd`. */
export async function globFiles(pattern: string, cwd: string = process.cwd()): Promise<GlobMatch[]> {
  const absolute = isAbsolute(pattern) ? pattern : resolve(cwd, pattern);
  const segments = absolute.split(sep).filter((s, i) => s !== '' || i === 0);
  let current = [segments[0] === '' ? sep : segments[0]!];
  for (const segment of segments.slice(1)) {
    if (!hasWildcard(segment)) {
      current = current.map((dir) => join(dir, segment));
      continue;
    }
    const re = segmentPattern(segment);
    const next: string[] = [];
    for (const dir of current) {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue; // missing or unreadable directory: simply no match there
      }
      for (const name of names.sort()) {
        if (name.startsWith('.') && !segment.startsWith('.')) continue;
        if (re.test(name)) next.push(join(dir, name));
      }
    }
    current = next;
  }
  const out: GlobMatch[] = [];
  for (const path of current) {
    try {
      const st = await stat(path);
      if (st.isFile()) out.push({ path, mtimeMs: st.mtimeMs, size: st.size });
    } catch {
      // vanished or dangling link
    }
  }
  return out;
}
