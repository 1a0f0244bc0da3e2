// The `infuse-breaker/redis` entry point. ioredis is an optional peer: only this subpath touches
// it, and only through the client the user passes in.
export { RedisStore } from './store.js';
export { RedisAdmin } from './admin.js';
export type {
  FleetCircuit,
  FleetCommand,
  FleetCommandOptions,
  FleetCommandResult,
  FleetHistoryQuery,
  FleetTransition,
  MalformedCircuit,
  RedisAdminOptions,
} from './admin/types.js';
export {
  RedisStoreError,
  RedisAdminError,
  type RedisAdminErrorCode,
  type RedisStoreErrorCode,
} from './errors.js';
export type {
  IoRedisClient,
  NodeRedisClient,
  NodeRedisCluster,
  RedisClient,
  RedisStoreOptions,
} from './options.js';
export type { HistoryEntry } from './history.js';
export type { FleetProcess, ProcessCircuit } from './presence.js';
