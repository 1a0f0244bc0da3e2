/**
 * Builds RedisStores for tests: each `create` gets a fresh prefix; `share` is another store (own
 * connections, as another process would have) on the same prefix.
 */
import { Redis, Cluster } from 'ioredis';
import { RedisStore, type RedisStoreOptions } from '../../src/redis/index.js';
import type { Store } from '../../src/index.js';
import type { RedisCluster, RedisServer } from '../helpers/redis-server.js';

export type Target = RedisServer | RedisCluster;

let prefixes = 0;

export function freshPrefix(): string {
  return `t${process.pid}-${++prefixes}-${Math.random().toString(36).slice(2, 8)}`;
}

/** A client for the target, as a user would create it. */
export function clientFor(target: Target): Redis | Cluster {
  if ('nodes' in target) return new Cluster(target.startupNodes);
  return new Redis(target.port, '127.0.0.1');
}

export class StoreFactory {
  readonly #target: Target;
  readonly #clients = new Map<Store, Redis | Cluster>();
  readonly #prefixes = new Map<Store, string>();
  readonly #options: Partial<RedisStoreOptions>;

  constructor(target: Target, options: Partial<RedisStoreOptions> = {}) {
    this.#target = target;
    this.#options = options;
  }

  prefixOf(store: Store): string {
    const prefix = this.#prefixes.get(store);
    if (prefix === undefined) throw new Error('not a store of this factory');
    return prefix;
  }

  clientOf(store: Store): Redis | Cluster {
    const client = this.#clients.get(store);
    if (client === undefined) throw new Error('not a store of this factory');
    return client;
  }

  async create(
    prefix = freshPrefix(),
    options: Partial<RedisStoreOptions> = {},
  ): Promise<RedisStore> {
    const redis = clientFor(this.#target);
    const store = new RedisStore({ ...this.#options, ...options, redis, prefix });
    this.#clients.set(store, redis);
    this.#prefixes.set(store, prefix);
    if (!(await store.ready())) throw new Error('RedisStore could not reach Redis');
    return store;
  }

  share(store: Store, options: Partial<RedisStoreOptions> = {}): Promise<RedisStore> {
    return this.create(this.prefixOf(store), options);
  }

  async dispose(store: Store): Promise<void> {
    if (store instanceof RedisStore) await store.close();
    const client = this.#clients.get(store);
    this.#clients.delete(store);
    this.#prefixes.delete(store);
    client?.disconnect();
  }
}
