import { describe, expect, it } from 'vitest';
import { HostKeys } from '../../src/adapters/hosts.js';

/** What the adapters key by when they parse a URL themselves: WHATWG URL's host, or nothing. */
function parsedHost(href: string): string | null {
  try {
    return new URL(href).host;
  } catch {
    return null;
  }
}

/** A small deterministic generator (mulberry32), so that a failure names a reproducible input. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SCHEMES = [
  'http://',
  'https://',
  'HTTP://',
  'http:',
  'http:///',
  'ftp://',
  'ws://',
  ' http://',
];
const HOSTS = [
  'api.example.com',
  'API.Example.COM',
  'a.test',
  '127.0.0.1',
  '127.1',
  '0x7f.1',
  '2130706433',
  '1.2.3.256',
  'example.com.',
  'a..b',
  '-x.test',
  'xn--bcher-kva.example',
  'bücher.example',
  '[::1]',
  '[2001:db8::1]',
  'user:pass@a.test',
  '@a.test',
  'a%41.test',
  'a\\b.test',
  'a\tb.test',
  '',
  'a_b.test',
  'localhost',
];
const PORTS = ['', ':80', ':443', ':0080', ':8080', ':65535', ':65536', ':', ':x', ':1:2'];
const TAILS = [
  '',
  '/',
  '/users/1',
  '?q=1',
  '#frag',
  '/p?q=1#f',
  '\\path',
  ' /x',
  '/a b',
  '//double',
];

describe('HostKeys', () => {
  it('gives every URL the key WHATWG URL gives it, or leaves it to the caller', () => {
    const next = random(20261201);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
    const keys = new HostKeys();
    let simple = 0;
    for (let i = 0; i < 20_000; i++) {
      const href = pick(SCHEMES) + pick(HOSTS) + pick(PORTS) + pick(TAILS);
      const key = keys.of(href);
      if (key === undefined) continue;
      simple++;
      expect({ href, key }).toEqual({ href, key: parsedHost(href) });
    }
    // Most generated URLs are of the simple kind that is remembered.
    expect(simple).toBeGreaterThan(1_500);
  });

  it('lowercases the host and drops the default port, as WHATWG URL does', () => {
    const keys = new HostKeys();
    expect(keys.of('https://API.Example.COM:443/users?id=1')).toBe('api.example.com');
    expect(keys.of('http://api.example.com:80')).toBe('api.example.com');
    expect(keys.of('http://api.example.com:0080/')).toBe('api.example.com');
    expect(keys.of('https://api.example.com:8443/x')).toBe('api.example.com:8443');
    expect(keys.of('http://127.1:3000/')).toBe('127.0.0.1:3000');
  });

  it('answers null for an origin that cannot be parsed, and leaves unusual URLs to the caller', () => {
    const keys = new HostKeys();
    expect(keys.of('http://a.test:65536/')).toBeNull();
    expect(keys.of('http://a.test:x/')).toBeNull();
    for (const href of [
      'http://user:pass@a.test/',
      'http://[::1]:3000/',
      'http://a%41.test/',
      'http:\\\\a.test/',
      'HTTP://a.test/',
      'http:///a.test',
      '/relative',
      'ftp://a.test/',
    ]) {
      expect(keys.of(href), href).toBeUndefined();
    }
  });

  it('never confuses two origins that share a prefix, whatever their order', () => {
    const keys = new HostKeys();
    const hrefs = [
      'http://a.test/x',
      'http://a.test.evil/x',
      'http://a.test:8080/x',
      'http://a.test',
      'http://a.test?x',
      'http://a.test#x',
      'http://a.tes/x',
    ];
    for (let round = 0; round < 3; round++) {
      for (const href of [...hrefs, ...hrefs.reverse()]) {
        expect(keys.of(href), href).toBe(parsedHost(href));
      }
    }
  });

  it('stays right past the number of origins it remembers', () => {
    const keys = new HostKeys();
    for (let i = 0; i < 2_000; i++) {
      expect(keys.of(`http://h${i}.test:${1000 + (i % 7)}/p`)).toBe(`h${i}.test:${1000 + (i % 7)}`);
    }
    expect(keys.of('http://h0.test:1000/again')).toBe('h0.test:1000');
  });
});
