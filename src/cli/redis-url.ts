/**
 * Reading `--redis` without ever echoing a password. A password may hold any character: the
 * userinfo runs to the last `@` of its URL, so `@ : / # %` need no encoding (a valid `%XX` is
 * decoded, as URLs do). Every message built from a URL goes through {@link redact}.
 */

/** One host and port. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** Credentials for the Redis that holds the circuits (never for Sentinels). */
export interface Auth {
  readonly username?: string;
  readonly password?: string;
}

/** Where the circuits are, read from `--redis` (and `--cluster`, `--sentinel`). */
export type RedisTarget =
  | { readonly kind: 'node'; readonly node: Endpoint; readonly db: number }
  | { readonly kind: 'cluster'; readonly nodes: readonly Endpoint[] }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: readonly Endpoint[];
      /** The master group the Sentinels watch (`sentinel monitor NAME …`). */
      readonly name: string;
      readonly db: number;
    };

/** A parsed `--redis`: the target, its credentials and TLS. */
export interface RedisLocation {
  readonly target: RedisTarget;
  readonly auth: Auth;
  readonly tls: boolean;
}

/** A `--redis` that cannot be read; its message holds no credential. */
export class RedisUrlError extends Error {}

const SCHEME = /^(rediss?)(\+sentinel)?:\/\//i;

/**
 * `text` with the userinfo of every URL in it replaced by `***`. Safe on anything, URL or not:
 * whatever stands between `scheme://` and the last `@` of a URL is hidden.
 */
export function redact(text: string): string {
  return splitUrls(text)
    .map((url) => url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^]*@/i, '$1***@'))
    .join(',');
}

/**
 * Splits a `--redis` value into URLs: at commas followed by a scheme, so that a comma in a
 * password does not split it.
 */
function splitUrls(text: string): string[] {
  return text.split(/,(?=\s*[a-z][a-z0-9+.-]*:\/\/)/i).map((url) => url.trim());
}

/**
 * Reads `--redis`: one `redis://` or `rediss://` URL (a node), several (a Cluster; or one node
 * with `cluster`), or Sentinels: `redis+sentinel://[user:pass@]host:26379[,host:26379…]/NAME[/db]`,
 * or `redis://` URLs of Sentinels with `sentinel` naming the master group.
 */
export function parseRedis(
  text: string,
  options: { cluster: boolean; sentinel: string | undefined },
): RedisLocation {
  const shown = redact(text);
  const urls = splitUrls(text).filter((url) => url !== '');
  if (urls.length === 0) throw new RedisUrlError('--redis: no URL given');
  const parsed = urls.map(parseOne);
  const first = parsed[0] as Parsed;
  if (parsed.some((p) => p.tls !== first.tls || p.sentinel !== first.sentinel)) {
    throw new RedisUrlError(`--redis: ${shown}: the URLs mix schemes; use one`);
  }
  const hosts = parsed.flatMap((p) => p.hosts);
  const base = { auth: first.auth, tls: first.tls };
  if (first.sentinel || options.sentinel !== undefined) {
    if (options.cluster) {
      throw new RedisUrlError('--cluster and Sentinel exclude each other: choose one');
    }
    const name = options.sentinel ?? first.path[0] ?? '';
    if (name === '') {
      throw new RedisUrlError(
        `--redis: ${shown}: name the master group, redis+sentinel://host:26379/NAME (or --sentinel NAME)`,
      );
    }
    const db = parseDb(first.path[options.sentinel === undefined ? 1 : 0], shown);
    const sentinels = hosts.map((host) => endpoint(host, 26379, shown));
    return { ...base, target: { kind: 'sentinel', sentinels, name, db } };
  }
  if (options.cluster || hosts.length > 1) {
    return {
      ...base,
      target: { kind: 'cluster', nodes: hosts.map((h) => endpoint(h, 6379, shown)) },
    };
  }
  const db = parseDb(first.path[0], shown);
  return { ...base, target: { kind: 'node', node: endpoint(hosts[0] ?? '', 6379, shown), db } };
}

interface Parsed {
  readonly tls: boolean;
  readonly sentinel: boolean;
  readonly auth: Auth;
  /** `host[:port]` as written (several for `redis+sentinel://a,b/NAME`). */
  readonly hosts: readonly string[];
  /** The path's parts: `[db]`, or for Sentinel `[NAME, db]`. */
  readonly path: readonly string[];
}

function parseOne(url: string): Parsed {
  const shown = redact(url);
  const scheme = SCHEME.exec(url);
  if (scheme === null) {
    throw new RedisUrlError(
      `--redis: ${JSON.stringify(shown)} must start with redis://, rediss:// or redis+sentinel://`,
    );
  }
  let rest = url.slice(scheme[0].length);
  let auth: Auth = {};
  const at = rest.lastIndexOf('@');
  if (at !== -1) {
    auth = parseAuth(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  const slash = rest.indexOf('/');
  const hostPart = slash === -1 ? rest : rest.slice(0, slash);
  const path =
    slash === -1
      ? []
      : rest
          .slice(slash + 1)
          .split('/')
          .filter((part) => part !== '');
  if (/[?#]/.test(rest)) {
    throw new RedisUrlError(
      `--redis: ${JSON.stringify(shown)}: query strings and fragments are not read`,
    );
  }
  const hosts = hostPart.split(',').map((host) => host.trim());
  if (hosts.some((host) => host === '')) {
    throw new RedisUrlError(`--redis: ${JSON.stringify(shown)} names no host`);
  }
  return {
    tls: scheme[1]?.toLowerCase() === 'rediss',
    sentinel: scheme[2] !== undefined,
    auth,
    hosts,
    path: path.map(decode),
  };
}

function parseAuth(userinfo: string): Auth {
  const colon = userinfo.indexOf(':');
  const username = decode(colon === -1 ? userinfo : userinfo.slice(0, colon));
  const password = colon === -1 ? '' : decode(userinfo.slice(colon + 1));
  return {
    ...(username === '' ? {} : { username }),
    ...(password === '' ? {} : { password }),
  };
}

/** Percent-decoding where it is valid; a `%` that starts no valid escape is itself. */
function decode(text: string): string {
  return text.replace(/(%[0-9a-f]{2})+/gi, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

function endpoint(text: string, defaultPort: number, shown: string): Endpoint {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]*)(?::(\d*))?$/i.exec(text);
  const port = match?.[2] === undefined || match[2] === '' ? defaultPort : Number(match[2]);
  if (match === null || port < 1 || port > 65_535) {
    throw new RedisUrlError(`--redis: ${JSON.stringify(shown)}: "${text}" is not host:port`);
  }
  const host = (match[1] ?? '').replace(/^\[|\]$/g, '');
  return { host: host === '' ? '127.0.0.1' : host, port };
}

function parseDb(text: string | undefined, shown: string): number {
  if (text === undefined) return 0;
  if (!/^\d+$/.test(text)) {
    throw new RedisUrlError(
      `--redis: ${JSON.stringify(shown)}: database ${JSON.stringify(text)} must be a number`,
    );
  }
  return Number(text);
}

/** The target as messages name it: `host:port`, a list, or the master group and its Sentinels. */
export function describeTarget(target: RedisTarget): string {
  const list = (endpoints: readonly Endpoint[]) =>
    endpoints
      .map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`)
      .join(', ');
  switch (target.kind) {
    case 'node':
      return list([target.node]);
    case 'cluster':
      return list(target.nodes);
    case 'sentinel':
      return `master "${target.name}" via Sentinel ${list(target.sentinels)}`;
  }
}
