import { afterAll, beforeAll, describe } from 'vitest';
import { storeContract } from '../contract/store-contract.js';
import { sleep, startCluster, startRedis } from '../helpers/redis-server.js';
import { StoreFactory, type Target } from './harness.js';

// A busy CI machine may take a while to answer: let calls wait for Redis rather than fall back,
// since the contract is about shared state, not about the fallback (tested in outage.test.ts).
const OPTIONS = { waitTimeout: 2_000, commandTimeout: 2_000 };

const TARGETS: [string, () => Promise<Target>, 5 | 6][] = [
  ['single node', startRedis, 5],
  ['single node, ioredis 6', startRedis, 6],
  ['3-master Cluster', startCluster, 5],
];

describe.each(TARGETS)('RedisStore on a %s', (name, start, major) => {
  let target: Target | undefined;
  let factory: StoreFactory;
  beforeAll(async () => {
    target = await start();
    factory = new StoreFactory(target, OPTIONS, major);
  });
  afterAll(() => target?.stop());

  storeContract(`RedisStore (${name})`, {
    create: () => factory.create(),
    share: (store) => factory.share(store),
    wait: sleep,
    dispose: (store) => factory.dispose(store),
  });
});
