// The `infuse-breaker/redis` entry point. ioredis is an optional peer: only this subpath touches
// it, and only through the client the user passes in.
export { RedisStore } from './store.js';
export { RedisAdmin } from './admin.js';
export type {
  FleetCircuit,
  FleetCommand,
  FleetCommandOptions,
  FleetCommandResult,
  FleetTransition,
  MalformedCircuit,
  RedisAdminOptions,
} from './admin.js';
export { RedisStoreError, RedisAdminError, type RedisAdminErrorCode } from './errors.js';
export type {
  IoRedisClient,
  NodeRedisClient,
  NodeRedisCluster,
  RedisClient,
  RedisStoreOptions,
} from './options.js';
