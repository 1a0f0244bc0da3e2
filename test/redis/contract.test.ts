import { afterAll, beforeAll, describe } from 'vitest';
import { storeContract } from '../contract/store-contract.js';
import {
  startCluster,
  startRedis,
  type RedisCluster,
  type RedisServer,
} from '../helpers/redis-server.js';
import { StoreFactory } from './harness.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// A busy CI machine may take a while to answer: let calls wait for Redis rather than fall back,
// since the contract is about shared state, not about the fallback.
const OPTIONS = { waitTimeout: 2_000, commandTimeout: 2_000 };

describe('RedisStore on a single node', () => {
  let server: RedisServer | undefined;
  let factory: StoreFactory;
  beforeAll(async () => {
    server = await startRedis();
    factory = new StoreFactory(server, OPTIONS);
  });
  afterAll(() => server?.stop());

  storeContract('RedisStore (single node)', {
    create: () => factory.create(),
    share: (store) => factory.share(store),
    wait: sleep,
    dispose: (store) => factory.dispose(store),
  });
});

describe('RedisStore on a single node, through ioredis 6', () => {
  let server: RedisServer | undefined;
  let factory: StoreFactory;
  beforeAll(async () => {
    server = await startRedis();
    factory = new StoreFactory(server, OPTIONS, 6);
  });
  afterAll(() => server?.stop());

  storeContract('RedisStore (single node, ioredis 6)', {
    create: () => factory.create(),
    share: (store) => factory.share(store),
    wait: sleep,
    dispose: (store) => factory.dispose(store),
  });
});

describe('RedisStore on a 3-master Cluster', () => {
  let cluster: RedisCluster | undefined;
  let factory: StoreFactory;
  beforeAll(async () => {
    cluster = await startCluster();
    factory = new StoreFactory(cluster, OPTIONS);
  });
  afterAll(() => cluster?.stop());

  storeContract('RedisStore (Cluster)', {
    create: () => factory.create(),
    share: (store) => factory.share(store),
    wait: sleep,
    dispose: (store) => factory.dispose(store),
  });
});
