/**
 * Circuit-key patterns for RedisAdmin and the CLI: a glob where `*` matches any characters (dots
 * included, so `*.example.com` matches `a.b.example.com`, as `circuits` patterns of `Infuse` do,
 * but not `example.com`), `?` matches one character, `[abc]` / `[a-z]` / `[!a]` one of a set, and
 * `\` makes the next character literal.
 */

/** True when `text` uses any glob syntax, i.e. names circuits by pattern rather than one key. */
export function isPattern(text: string): boolean {
  return /[*?[\\]/.test(text);
}

/** A predicate for `pattern`; a TypeError names a pattern that cannot be read. */
export function keyMatcher(pattern: string): (key: string) => boolean {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern.charAt(i);
    if (char === '*') source += '[^]*';
    else if (char === '?') source += '[^]';
    else if (char === '\\') {
      const next = pattern[++i];
      if (next === undefined) throw new TypeError(`pattern ${JSON.stringify(pattern)} ends in \\`);
      source += escape(next);
    } else if (char === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end === -1) {
        throw new TypeError(`pattern ${JSON.stringify(pattern)} has a "[" without its "]"`);
      }
      let set = pattern.slice(i + 1, end);
      const negated = set.startsWith('!') || set.startsWith('^');
      if (negated) set = set.slice(1);
      source += `[${negated ? '^' : ''}${set.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else source += escape(char);
  }
  let regex: RegExp;
  try {
    regex = new RegExp(`^${source}$`, 'u');
  } catch (error) {
    throw new TypeError(`pattern ${JSON.stringify(pattern)} cannot be read: ${String(error)}`, {
      cause: error,
    });
  }
  return (key) => regex.test(key);
}

function escape(char: string): string {
  return char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
