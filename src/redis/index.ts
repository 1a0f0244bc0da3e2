// The `infuse-breaker/redis` entry point. ioredis is an optional peer: only this subpath touches
// it, and only through the client the user passes in.
export { RedisStore } from './store.js';
export { RedisStoreError } from './errors.js';
export type { IoRedisClient, RedisStoreOptions } from './options.js';
