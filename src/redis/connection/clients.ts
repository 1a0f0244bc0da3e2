/**
 * The Redis clients RedisStore and RedisAdmin accept, told apart by shape (this package imports
 * none of them): ioredis 5 and 6 and iovalkey (one API: `Redis`, `Cluster`, with Sentinel through
 * `Redis`), and node-redis 5 and 6 (`createClient`, `createCluster`).
 */
import { show } from '../../core/options.js';
import type { IoRedisClient, NodeRedisClient, NodeRedisCluster } from '../options.js';

/** ioredis' client as this layer reads it (it defines our scripts on it). */
export interface IoRedisLike extends IoRedisClient {
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
}

/** A client the user gave, with what it is. */
export type KnownClient =
  | { readonly kind: 'ioredis'; readonly client: IoRedisLike }
  | { readonly kind: 'node-redis'; readonly client: NodeRedisClient }
  | { readonly kind: 'node-redis-cluster'; readonly client: NodeRedisCluster };

const SUPPORTED =
  'an ioredis (5 or 6) or iovalkey Redis or Cluster, or a node-redis (5 or 6) client from createClient() or createCluster()';

/** What `value` is, or a TypeError naming what was given (never its contents: a URL may hold a password). */
export function identifyClient(owner: string, value: unknown): KnownClient {
  const v = value as Record<string, unknown> | null | undefined;
  if (typeof v === 'object' && v !== null) {
    if (
      typeof v.duplicate === 'function' &&
      typeof v.isCluster === 'boolean' &&
      typeof v.options === 'object' &&
      typeof v.defineCommand === 'function'
    ) {
      return { kind: 'ioredis', client: v as unknown as IoRedisLike };
    }
    if (typeof v.sendCommand === 'function' && typeof v.duplicate === 'function') {
      if (typeof v.nodeClient === 'function' && Array.isArray(v.masters)) {
        return { kind: 'node-redis-cluster', client: v as unknown as NodeRedisCluster };
      }
      if (typeof v.isReady === 'boolean' && typeof v.isOpen === 'boolean') {
        return { kind: 'node-redis', client: v as unknown as NodeRedisClient };
      }
    }
    if (typeof v.getMasterClientLease === 'function' || typeof v.acquire === 'function') {
      throw new TypeError(
        `${owner}: option "redis" is a node-redis Sentinel or pool, which is not supported; for Sentinel, pass an ioredis or iovalkey Redis created with { sentinels, name }`,
      );
    }
  }
  throw new TypeError(`${owner}: option "redis" must be ${SUPPORTED}; got ${describeValue(value)}`);
}

/** Names a value without quoting a string (it may be a URL with a password in it). */
function describeValue(value: unknown): string {
  if (typeof value === 'string') return 'a string (pass a client created from the URL instead)';
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== '' && name !== 'Object'
      ? `an object of class ${name}`
      : 'a plain object';
  }
  return show(value);
}

/** Every password `known` may send to Redis (or to Sentinel), for redaction. */
export function secretsOf(known: KnownClient): string[] {
  const secrets: unknown[] = [];
  const add = (options: unknown): void => {
    if (typeof options === 'string') return addUrl(options);
    if (typeof options !== 'object' || options === null) return;
    const o = options as Record<string, unknown>;
    secrets.push(o.password, o.sentinelPassword);
    if (typeof o.url === 'string') addUrl(o.url);
  };
  const addUrl = (text: string): void => {
    try {
      const url = new URL(text);
      secrets.push(decodeURIComponent(url.password), url.password);
    } catch {
      // not a URL: no password in it
    }
  };
  const client = known.client as unknown as Record<string, unknown>;
  if (known.kind === 'ioredis') {
    const options = client.options as Record<string, unknown>;
    add(options);
    add(options.redisOptions);
    for (const node of asArray(client.startupNodes)) add(node);
  } else if (known.kind === 'node-redis') {
    add(client.options);
  } else {
    const options = (client._options ?? {}) as Record<string, unknown>;
    add(options.defaults);
    for (const node of asArray(options.rootNodes)) add(node);
  }
  return secrets.filter((secret): secret is string => typeof secret === 'string');
}

/** Where `known` points (host:port, never credentials), for error messages. */
export function describeClient(known: KnownClient): string {
  const client = known.client as unknown as Record<string, unknown>;
  let nodes: unknown[];
  if (known.kind === 'ioredis') {
    const options = client.options as { sentinels?: unknown; name?: unknown };
    if (Array.isArray(options.sentinels)) {
      const list = options.sentinels.map(address).join(', ');
      return `master "${String(options.name)}" through the Sentinels at ${list}`;
    }
    nodes = known.client.isCluster ? asArray(client.startupNodes) : [options];
  } else if (known.kind === 'node-redis') {
    nodes = [client.options];
  } else {
    nodes = asArray((client._options as { rootNodes?: unknown } | undefined)?.rootNodes);
  }
  return nodes.length === 0 ? 'the given client' : nodes.map(address).join(', ');
}

function address(node: unknown): string {
  if (typeof node === 'number') return `127.0.0.1:${node}`;
  let options = node as Record<string, unknown> | null | undefined;
  if (typeof node === 'string') options = { url: node };
  if (typeof options?.url === 'string') {
    try {
      const url = new URL(options.url);
      return `${url.hostname || '127.0.0.1'}:${url.port || '6379'}`;
    } catch {
      return 'an unparsable URL';
    }
  }
  const socket = (options?.socket ?? options) as { host?: unknown; port?: unknown } | undefined;
  const host = typeof socket?.host === 'string' ? socket.host : '127.0.0.1';
  const port = typeof socket?.port === 'number' ? socket.port : 6379;
  return `${host}:${port}`;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
