/**
 * Real `redis-server` processes for tests, each on free ports (never the shared default port): a
 * single node, a Cluster (with replicas or not) or a Sentinel setup. Every process started here is
 * killed when the test file's process exits, also when a test fails or times out.
 */
import { freePort, RedisServer } from './redis-process.js';

export { deadPort, RedisServer, sleep, waitForPort } from './redis-process.js';
export {
  RedisCluster,
  startCluster,
  type ClusterNode,
  type ClusterOptions,
} from './redis-cluster.js';
export { MASTER_NAME, RedisSentinel, startSentinel } from './redis-sentinel.js';

/** Starts a single `redis-server` on a free port. */
export async function startRedis(args: readonly string[] = []): Promise<RedisServer> {
  return new RedisServer(await freePort(), args).start();
}
