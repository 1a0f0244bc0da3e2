/**
 * Connections from a node-redis (5, 6) client or cluster. Fail-fast settings, node-redis' names
 * for ioredis' ones: `disableOfflineQueue` (a command while disconnected fails at once; on a lost
 * socket every queued command fails instead of being re-sent after the reconnect, so a report never
 * counts twice) and `commandOptions.timeout` (a command unanswered in time fails). node-redis
 * follows MOVED and ASK itself, refreshing its slot map.
 *
 * This file opens the connections, with those settings; what they are made of lives in
 * node-redis/: base.ts (what a client's and a cluster's connection share: commands, scripts,
 * errors), client.ts and cluster.ts.
 */
import type {
  NodeRedisClient as NodeRedisClientLike,
  NodeRedisCluster as NodeRedisClusterLike,
} from '../options.js';
import type { Redactor } from './redact.js';
import type { Connection } from './types.js';
import type { NodeRedisClient, NodeRedisCluster } from './node-redis/base.js';
import { NodeRedisClientConnection } from './node-redis/client.js';
import { NodeRedisClusterConnection } from './node-redis/cluster.js';

/** The connection every script runs on: fails fast (see the top of this file). */
export function openNodeRedisCommand(
  source: NodeRedisClientLike,
  commandTimeout: number,
  redactor: Redactor,
): Connection {
  const client = (source as unknown as NodeRedisClient).duplicate({
    disableOfflineQueue: true,
    commandOptions: { timeout: commandTimeout },
  });
  return start(new NodeRedisClientConnection(client, redactor), client);
}

/** The subscriber connection; node-redis subscribes again by itself after a reconnect. */
export function openNodeRedisSubscriber(
  source: NodeRedisClientLike,
  redactor: Redactor,
): Connection {
  const client = (source as unknown as NodeRedisClient).duplicate({ disableOfflineQueue: false });
  return start(new NodeRedisClientConnection(client, redactor), client);
}

/** The command connection of a cluster: every node client fails fast. */
export function openNodeRedisClusterCommand(
  source: NodeRedisClusterLike,
  commandTimeout: number,
  redactor: Redactor,
): Connection {
  const cluster = source as unknown as NodeRedisCluster;
  const copy = cluster.duplicate({
    defaults: { ...cluster._options?.defaults, disableOfflineQueue: true },
    commandOptions: { timeout: commandTimeout },
  });
  const connection = new NodeRedisClusterConnection(copy, redactor);
  connection.connect().catch(() => undefined);
  return connection;
}

/** The subscriber connection of a cluster. */
export function openNodeRedisClusterSubscriber(
  source: NodeRedisClusterLike,
  redactor: Redactor,
): Connection {
  const cluster = source as unknown as NodeRedisCluster;
  const connection = new NodeRedisClusterConnection(cluster.duplicate({}), redactor);
  connection.connect().catch(() => undefined);
  return connection;
}

/** Connects in the background: the owner hears 'ready' or 'error'. */
function start(connection: Connection, client: NodeRedisClient): Connection {
  client.connect().catch(() => undefined);
  return connection;
}
