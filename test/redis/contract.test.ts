import { afterAll, beforeAll, describe } from 'vitest';
import { storeContract } from '../contract/store-contract.js';
import { sleep, startCluster, startRedis } from '../helpers/redis-server.js';
import { CLIENT_KINDS, userClient, type ClientKind } from './clients.js';
import { StoreFactory, type Target } from './harness.js';

// A busy CI machine may take a while to answer: let calls wait for Redis rather than fall back,
// since the contract is about shared state, not about the fallback (tested in outage.test.ts).
// Successes reach the fleet's windows within a short flush, so rate scenarios wait little.
const OPTIONS = { waitTimeout: 2_000, commandTimeout: 2_000, flushInterval: 20 };

// Every client on a single node and on a 3-master Cluster.
const TARGETS: [string, () => Promise<Target>, ClientKind][] = CLIENT_KINDS.flatMap(
  (kind): [string, () => Promise<Target>, ClientKind][] => [
    [`single node, ${kind}`, startRedis, kind],
    [`3-master Cluster, ${kind}`, startCluster, kind],
  ],
);

describe.each(TARGETS)('RedisStore on a %s', (name, start, kind) => {
  let target: Target | undefined;
  let factory: StoreFactory;
  beforeAll(async () => {
    target = await start();
    factory = new StoreFactory(target, OPTIONS, (each) => userClient(kind, each));
  });
  afterAll(() => target?.stop());

  storeContract(`RedisStore (${name})`, {
    create: () => factory.create(),
    share: (store) => factory.share(store),
    wait: sleep,
    dispose: (store) => factory.dispose(store),
  });
});
