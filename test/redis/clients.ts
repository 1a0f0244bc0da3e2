/**
 * Every Redis client RedisStore and RedisAdmin accept, made for a test target as a user would make
 * it: ioredis 5 and 6, iovalkey, node-redis 5 and 6 (single node, and Cluster for all of them).
 */
import { Cluster as ValkeyCluster, Redis as Valkey } from 'iovalkey';
import { createClient, createCluster } from 'redis';
import { createClient as createClient6, createCluster as createCluster6 } from 'redis6';
import { clientFor, type Target, type UserClient } from './harness.js';

export type ClientKind = 'ioredis 5' | 'ioredis 6' | 'iovalkey' | 'node-redis 5' | 'node-redis 6';

export const CLIENT_KINDS: readonly ClientKind[] = [
  'ioredis 5',
  'ioredis 6',
  'iovalkey',
  'node-redis 5',
  'node-redis 6',
];

/** A client of `kind` for `target` (not connected: the store opens connections of its own). */
export function userClient(kind: ClientKind, target: Target): UserClient {
  const cluster = 'nodes' in target;
  const urls = cluster
    ? target.startupNodes.map((node) => `redis://127.0.0.1:${node.port}`)
    : [target.url];
  switch (kind) {
    case 'ioredis 5':
    case 'ioredis 6': {
      const redis = clientFor(target, kind === 'ioredis 5' ? 5 : 6);
      return { redis, close: () => redis.disconnect() };
    }
    case 'iovalkey': {
      const redis = cluster
        ? new ValkeyCluster(target.startupNodes, { lazyConnect: true })
        : new Valkey(target.port, '127.0.0.1', { lazyConnect: true });
      return { redis, close: () => redis.disconnect() };
    }
    case 'node-redis 5': {
      const rootNodes = urls.map((url) => ({ url }));
      const redis = cluster ? createCluster({ rootNodes }) : createClient({ url: urls[0] ?? '' });
      // Never connected: the store's connections are its own.
      return { redis, close: () => undefined };
    }
    case 'node-redis 6': {
      const rootNodes = urls.map((url) => ({ url }));
      const redis = cluster ? createCluster6({ rootNodes }) : createClient6({ url: urls[0] ?? '' });
      return { redis, close: () => undefined };
    }
  }
}
