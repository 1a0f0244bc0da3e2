/**
 * The glob matcher of RedisAdmin.list and the CLI: the documented syntax, the same answers as a
 * plain RegExp translation (the obvious reading of the syntax, kept here as the reference), and no
 * backtracking.
 */
import { describe, expect, it } from 'vitest';
import { globMatcher, isGlob } from '../../src/redis/pattern.js';

/** The reference: the glob as a RegExp (it backtracks, so only for short keys). */
function regexpMatcher(pattern: string): (key: string) => boolean {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern.charAt(i);
    if (char === '*') source += '[^]*';
    else if (char === '?') source += '[^]';
    else if (char === '\\') source += escape(pattern.charAt(++i));
    else if (char === '[') {
      const end = pattern.indexOf(']', i + 2);
      let set = pattern.slice(i + 1, end);
      const negated = set.startsWith('!') || set.startsWith('^');
      if (negated) set = set.slice(1);
      source += `[${negated ? '^' : ''}${set.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else source += escape(char);
  }
  const regex = new RegExp(`^${source}$`, 'u');
  return (key) => regex.test(key);
}

function escape(char: string): string {
  return char.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

describe('globMatcher', () => {
  it.each([
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'a.b.example.com', true],
    ['*.example.com', 'example.com', false],
    ['api.?.internal', 'api.1.internal', true],
    ['api.?.internal', 'api.12.internal', false],
    ['db[0-9]', 'db7', true],
    ['db[0-9]', 'dbx', false],
    ['db[!0-9]', 'dbx', true],
    ['db[^0-9]', 'db7', false],
    ['[]x]y', ']y', true],
    ['[a-]', '-', true],
    ['a\\*b', 'a*b', true],
    ['a\\*b', 'axb', false],
    ['*', '', true],
    ['', '', true],
    ['a**b', 'ab', true],
    ['a*b*c', 'abbbc', true],
    ['a*b*c', 'acb', false],
    ['?', '😀', true],
    ['*😀', 'x😀', true],
  ])('%j matches %j: %s', (pattern, key, expected) => {
    expect(globMatcher(pattern)(key)).toBe(expected);
  });

  it.each([
    ['ab\\', 'ends in \\'],
    ['[abc', 'has a "[" without its "]"'],
    ['[z-a]', 'has a range "z-a" that runs backwards'],
  ])('names what is wrong with %j', (pattern, message) => {
    expect(() => globMatcher(pattern)).toThrow(TypeError);
    expect(() => globMatcher(pattern)).toThrow(message);
  });

  it('agrees with the RegExp reading on random patterns and keys', () => {
    // A small alphabet, so that matches are frequent; a fixed seed, so that a failure repeats.
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const pieces = ['a', 'b', '.', '*', '*', '*', '?', '[ab]', '[!a]', '[a-b]', '\\*', '**'];
    const letters = ['a', 'b', 'b', '.', '*'];
    let matched = 0;
    for (let i = 0; i < 3_000; i++) {
      const pattern = Array.from(
        { length: 1 + random(6) },
        () => pieces[random(pieces.length)],
      ).join('');
      const key = Array.from({ length: random(6) }, () => letters[random(letters.length)]).join('');
      const expected = regexpMatcher(pattern)(key);
      expect(globMatcher(pattern)(key), `${pattern} on ${key}`).toBe(expected);
      if (expected) matched++;
    }
    // Both answers occur often enough for the comparison to mean something.
    expect(matched).toBeGreaterThan(400);
    expect(matched).toBeLessThan(2_700);
  });

  it('does not backtrack: many stars against a long key that almost matches', () => {
    const pattern = `${'*a'.repeat(30)}*b`;
    const key = 'a'.repeat(20_000);
    const started = performance.now();
    expect(globMatcher(pattern)(key)).toBe(false);
    expect(globMatcher(pattern)(`${key}b`)).toBe(true);
    // A backtracking matcher takes minutes here; a bound this loose only catches that.
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});

describe('isGlob', () => {
  it.each([
    ['api.example.com', false],
    ['*.example.com', true],
    ['a?', true],
    ['[ab]', true],
    ['a\\b', true],
  ])('%j: %s', (text, expected) => {
    expect(isGlob(text)).toBe(expected);
  });
});
