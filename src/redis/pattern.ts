/**
 * Circuit-key globs, for RedisAdmin's `list(pattern)` and the CLI, matched without backtracking: `*` any characters (dots included: `*.example.com` matches `a.b.example.com`, not
 * `example.com`), `?` one character, `[abc]` / `[a-z]` / `[!a]` (or `[^a]`) one of a set (a `]`
 * right after the `[` or `[!` is a member), `\` makes the next character literal.
 *
 * Why not a RegExp: a glob turned into `^[^]*a[^]*a…b$` backtracks, and `*a*a*a*a*a*a*a*a*a*a*b`
 * against a long key ran for minutes. Here a pattern is split at its stars into segments of
 * one-character tokens; the first segment must match at the start, the last at the end, and each
 * one between at its leftmost place after the previous one. Leftmost is always right (a star
 * absorbs whatever a later placement would skip), so nothing is ever retried: the cost is at most
 * key length × pattern length.
 */

/** One character of a key, as a pattern token matches it. */
type Token =
  | { readonly kind: 'char'; readonly code: number }
  | { readonly kind: 'any' }
  | {
      readonly kind: 'set';
      readonly negated: boolean;
      readonly ranges: readonly (readonly [number, number])[];
    };

type Segment = readonly Token[];

/** A pattern, split at its stars. `starred` is false for a pattern without any star. */
interface Compiled {
  readonly segments: readonly Segment[];
  readonly starred: boolean;
}

/** True when `text` uses any glob syntax, i.e. names circuits by pattern rather than one key. */
export function isGlob(text: string): boolean {
  return /[*?[\\]/.test(text);
}

/**
 * A predicate for `pattern`, matched in time linear in the key's length for a given pattern. A
 * TypeError names a pattern that cannot be read.
 */
export function globMatcher(pattern: string): (key: string) => boolean {
  const { segments, starred } = compile(pattern);
  return (key) =>
    matches(
      Array.from(key, (c) => c.codePointAt(0) ?? 0),
      segments,
      starred,
    );
}

function compile(pattern: string): Compiled {
  const chars = Array.from(pattern);
  const segments: Token[][] = [[]];
  let starred = false;
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i] ?? '';
    const current = segments[segments.length - 1] ?? [];
    if (char === '*') {
      starred = true;
      if (current.length > 0 || segments.length === 1) segments.push([]);
    } else if (char === '?') current.push({ kind: 'any' });
    else if (char === '\\') {
      const next = chars[++i];
      if (next === undefined) throw new TypeError(`pattern ${JSON.stringify(pattern)} ends in \\`);
      current.push({ kind: 'char', code: codeOf(next) });
    } else if (char === '[') {
      const set = readSet(chars, i, pattern);
      current.push(set.token);
      i = set.end;
    } else current.push({ kind: 'char', code: codeOf(char) });
  }
  // "a**b" and "a*" leave empty segments between or after stars: only the ends may be empty.
  const inner = segments.slice(1, -1).filter((segment) => segment.length > 0);
  const all =
    segments.length === 1 ? segments : [segments[0] ?? [], ...inner, segments.at(-1) ?? []];
  return { segments: all, starred };
}

function readSet(
  chars: readonly string[],
  open: number,
  pattern: string,
): { token: Token; end: number } {
  let i = open + 1;
  const negated = chars[i] === '!' || chars[i] === '^';
  if (negated) i++;
  const members: string[] = [];
  // A "]" first is a member, not the end.
  if (chars[i] === ']') members.push(chars[i++] ?? ']');
  while (i < chars.length && chars[i] !== ']') members.push(chars[i++] ?? '');
  if (i >= chars.length) {
    throw new TypeError(`pattern ${JSON.stringify(pattern)} has a "[" without its "]"`);
  }
  if (members.length === 0) {
    throw new TypeError(`pattern ${JSON.stringify(pattern)} has an empty set "[]"`);
  }
  const ranges: [number, number][] = [];
  for (let m = 0; m < members.length; m++) {
    const from = codeOf(members[m] ?? '');
    // "a-z" is a range; a "-" first or last is itself.
    if (members[m + 1] === '-' && m + 2 < members.length) {
      const to = codeOf(members[m + 2] ?? '');
      if (to < from) {
        throw new TypeError(
          `pattern ${JSON.stringify(pattern)} has a range "${members[m]}-${members[m + 2]}" that runs backwards`,
        );
      }
      ranges.push([from, to]);
      m += 2;
    } else ranges.push([from, from]);
  }
  return { token: { kind: 'set', negated, ranges }, end: i };
}

function codeOf(char: string): number {
  return char.codePointAt(0) ?? 0;
}

function tokenMatches(token: Token, code: number): boolean {
  switch (token.kind) {
    case 'char':
      return token.code === code;
    case 'any':
      return true;
    case 'set': {
      const inside = token.ranges.some(([from, to]) => code >= from && code <= to);
      return inside !== token.negated;
    }
  }
}

function segmentAt(key: readonly number[], segment: Segment, at: number): boolean {
  for (let t = 0; t < segment.length; t++) {
    const token = segment[t];
    const code = key[at + t];
    if (token === undefined || code === undefined || !tokenMatches(token, code)) return false;
  }
  return true;
}

function matches(key: readonly number[], segments: readonly Segment[], starred: boolean): boolean {
  const first = segments[0] ?? [];
  if (!starred) return key.length === first.length && segmentAt(key, first, 0);
  const last = segments[segments.length - 1] ?? [];
  if (key.length < first.length + last.length) return false;
  if (!segmentAt(key, first, 0)) return false;
  const end = key.length - last.length;
  if (!segmentAt(key, last, end)) return false;
  let at = first.length;
  for (const segment of segments.slice(1, -1)) {
    let found = -1;
    for (let start = at; start + segment.length <= end; start++) {
      if (segmentAt(key, segment, start)) {
        found = start;
        break;
      }
    }
    if (found === -1) return false;
    at = found + segment.length;
  }
  return true;
}
