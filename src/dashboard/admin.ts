import type { RedisAdmin } from '../redis/admin.js';

export type { FleetCircuit, FleetCommand } from '../redis/admin/types.js';

/** What the dashboard needs of {@link RedisAdmin}. */
export type DashboardAdmin = Pick<RedisAdmin, 'list' | 'get' | 'command' | 'watch'> &
  Partial<Pick<RedisAdmin, 'history' | 'processes'>>;
