/**
 * Builds RedisStores for tests: each `create` gets a fresh prefix; `share` is another store (own
 * connections, as another process would have) on the same prefix.
 */
import { Cluster, Redis } from 'ioredis';
import { Cluster as Cluster6, Redis as Redis6 } from 'ioredis6';
import { RedisStore, type RedisClient, type RedisStoreOptions } from '../../src/redis/index.js';
import type { Infuse, Store } from '../../src/index.js';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startRedis, type RedisCluster, type RedisServer } from '../helpers/redis-server.js';

export type Target = RedisServer | RedisCluster;

let prefixes = 0;

export function freshPrefix(): string {
  return `t${process.pid}-${++prefixes}-${Math.random().toString(36).slice(2, 8)}`;
}

/** An ioredis client of either supported major. */
export type Client = Redis | Cluster | Redis6 | Cluster6;

/** A client for the target, as a user would create it, from ioredis 5 (default) or 6. */
export function clientFor(target: Target, major: 5 | 6 = 5): Client {
  if ('nodes' in target) {
    return major === 5 ? new Cluster(target.startupNodes) : new Cluster6(target.startupNodes);
  }
  const client =
    major === 5 ? new Redis(target.port, '127.0.0.1') : new Redis6(target.port, '127.0.0.1');
  // The user's client is the test's own: its errors while a test kills Redis are expected.
  client.on('error', () => undefined);
  return client;
}

/** A user's client of any supported kind, and how the user closes it. */
export interface UserClient {
  readonly redis: RedisClient;
  close(): void;
}

export class StoreFactory {
  readonly #target: Target;
  readonly #clients = new Map<Store, Client>();
  readonly #others = new Map<Store, UserClient>();
  readonly #prefixes = new Map<Store, string>();
  readonly #options: Partial<RedisStoreOptions>;
  readonly #client: 5 | 6 | ((target: Target) => UserClient);

  /** `client`: an ioredis major, or how to make another client for the target. */
  constructor(
    target: Target,
    options: Partial<RedisStoreOptions> = {},
    client: 5 | 6 | ((target: Target) => UserClient) = 5,
  ) {
    this.#target = target;
    this.#options = options;
    this.#client = client;
  }

  prefixOf(store: Store): string {
    const prefix = this.#prefixes.get(store);
    if (prefix === undefined) throw new Error('not a store of this factory');
    return prefix;
  }

  clientOf(store: Store): Client {
    const client = this.#clients.get(store);
    if (client === undefined) throw new Error('not a store of this factory');
    return client;
  }

  async create(
    prefix = freshPrefix(),
    options: Partial<RedisStoreOptions> = {},
  ): Promise<RedisStore> {
    const make = this.#client;
    const other = typeof make === 'function' ? make(this.#target) : null;
    const redis = other?.redis ?? clientFor(this.#target, make as 5 | 6);
    const store = new RedisStore({ ...this.#options, ...options, redis, prefix });
    if (other === null) this.#clients.set(store, redis as Client);
    else this.#others.set(store, other);
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
    this.#others.get(store)?.close();
    this.#others.delete(store);
  }
}

/** What a test opened, closed after it (Infuse instances first, then their stores). */
export class Opened {
  readonly infuse: Infuse[] = [];
  readonly stores: RedisStore[] = [];

  async close(factory: StoreFactory): Promise<void> {
    for (const infuse of this.infuse.splice(0)) await infuse.shutdown();
    for (const store of this.stores.splice(0)) await factory.dispose(store);
  }
}

/** What {@link redisForFile} gives a test file; set before its first test runs. */
export interface FileRedis {
  readonly server: RedisServer;
  readonly factory: StoreFactory;
  /** A plain client of the test's own, to read and forge what is in Redis. */
  readonly admin: Redis;
  readonly opened: Opened;
}

/**
 * A redis-server of the test file's own (so that INFO commandstats and ACL users are the file's
 * alone), a StoreFactory with `options` on it, and an admin client. What a test opens in
 * `opened` is closed after it; the server when the file is done.
 */
export function redisForFile(options: Partial<RedisStoreOptions> = {}): FileRedis {
  const file = { opened: new Opened() } as {
    server: RedisServer;
    factory: StoreFactory;
    admin: Redis;
    opened: Opened;
  };
  beforeAll(async () => {
    file.server = await startRedis();
    file.factory = new StoreFactory(file.server, options);
    file.admin = new Redis(file.server.port, '127.0.0.1');
  });
  afterEach(() => file.opened.close(file.factory));
  afterAll(async () => {
    file.admin.disconnect();
    await file.server.stop();
  });
  return file;
}
