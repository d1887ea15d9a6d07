/** The `$selector` placeholder of validate's PromQL inputs, shared by the slo check and its traffic reads. */

/**
 * Puts the label matchers where `$selector` stands, then tidies every `{…}`: empty matchers go (an empty
 * selector must not leave `{code=~"5..",}` or `{,}`), and `name{}` becomes `name`. Quoted strings are
 * left alone.
 */
export function applySelector(query: string, selector: string): string {
  const text = query.split('$selector').join(selector.trim());
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '"' || c === "'" || c === '`') {
      const end = stringEnd(text, i);
      out += text.slice(i, end);
      i = end;
    } else if (c === '{') {
      let j = i + 1;
      const parts: string[] = [];
      let current = '';
      while (j < text.length && text[j] !== '}') {
        const d = text[j] as string;
        if (d === '"' || d === "'" || d === '`') {
          const end = stringEnd(text, j);
          current += text.slice(j, end);
          j = end;
        } else {
          if (d === ',') {
            parts.push(current);
            current = '';
          } else current += d;
          j++;
        }
      }
      parts.push(current);
      const matchers = parts.map((p) => p.trim()).filter((p) => p !== '');
      const named = /[a-zA-Z0-9_:]\s*$/.test(out);
      if (matchers.length > 0 || !named) out += `{${matchers.join(',')}}`;
      else out = out.replace(/\s+$/, '');
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Index just past the string literal starting at `start` (backslash escapes except in raw backticks). */
function stringEnd(text: string, start: number): number {
  const quote = text[start];
  let i = start + 1;
  while (i < text.length && text[i] !== quote) i += quote !== '`' && text[i] === '\\' ? 2 : 1;
  return Math.min(i + 1, text.length);
}
