/** Reading `--redis`: any password, as written or percent-encoded; nothing secret in a message. */
import { describe, expect, it } from 'vitest';
import { parseRedis, redact, RedisUrlError } from '../../src/cli/redis-url.js';

const plain = { cluster: false, sentinel: undefined };

describe('parseRedis', () => {
  it.each([
    ['redis://:p@ss:w/rd#5%x@10.0.0.5:6380/2', undefined, 'p@ss:w/rd#5%x'],
    ['redis://ops:p%40ss%3Aw%2Frd%235%25x@10.0.0.5:6380/2', 'ops', 'p@ss:w/rd#5%x'],
    ['redis://ops:a,b@10.0.0.5:6380/2', 'ops', 'a,b'],
  ])('reads %s', (url, username, password) => {
    const { target, auth, tls } = parseRedis(url, plain);
    expect(target).toEqual({ kind: 'node', node: { host: '10.0.0.5', port: 6380 }, db: 2 });
    expect(auth).toEqual({ ...(username === undefined ? {} : { username }), password });
    expect(tls).toBe(false);
  });

  it('reads a Cluster, IPv6, TLS and defaults', () => {
    expect(parseRedis('rediss://a:7000, rediss://[::1]:7001,rediss://b', plain)).toEqual({
      target: {
        kind: 'cluster',
        nodes: [
          { host: 'a', port: 7000 },
          { host: '::1', port: 7001 },
          { host: 'b', port: 6379 },
        ],
      },
      auth: {},
      tls: true,
    });
    expect(parseRedis('redis://:6380', plain).target).toEqual({
      kind: 'node',
      node: { host: '127.0.0.1', port: 6380 },
      db: 0,
    });
  });

  it('reads Sentinels, from the URL or with --sentinel', () => {
    expect(parseRedis('redis+sentinel://:pw@s1,s2:26380/mymaster/3', plain)).toEqual({
      target: {
        kind: 'sentinel',
        sentinels: [
          { host: 's1', port: 26379 },
          { host: 's2', port: 26380 },
        ],
        name: 'mymaster',
        db: 3,
      },
      auth: { password: 'pw' },
      tls: false,
    });
    const named = parseRedis('redis://s1:26379/1,redis://s2:26379', {
      cluster: false,
      sentinel: 'mymaster',
    });
    expect(named.target).toMatchObject({ kind: 'sentinel', name: 'mymaster', db: 1 });
  });

  it.each([
    ['redis://:s3cr@t@h/x', 'database "x" must be a number'],
    ['http://:s3cr@t@h', '"http://***@h" must start with redis://'],
    ['redis://:s3cr@t@h:99999', '"h:99999" is not host:port'],
    ['redis://', 'names no host'],
    ['redis://:s3cr@t@h/0?x=1', 'query strings and fragments are not read'],
    ['redis+sentinel://:s3cr@t@h', 'name the master group'],
    ['redis://:s3cr@t@a,rediss://b', 'the URLs mix schemes'],
  ])('names what is wrong with %s, without its password', (url, message) => {
    let error: unknown;
    try {
      parseRedis(url, plain);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RedisUrlError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain('s3cr');
  });
});

describe('redact', () => {
  it('hides the userinfo of every URL, whatever it holds', () => {
    expect(redact('redis://u:p@ss:w/rd#5%@h:1/0,redis://:x,y@h2')).toBe(
      'redis://***@h:1/0,redis://***@h2',
    );
    expect(redact('not a url')).toBe('not a url');
  });
});
