import type { ScriptName } from '../scripts/index.js';

/**
 * What a connection tells its owner: `ready` (Redis answers), `error` (an error, credentials
 * already removed), `close` (the link dropped; the client reconnects by itself), `end` (closed for
 * good), `message` (a pub/sub message: `(channel, message)`, both strings).
 */
export type ConnectionEvent = 'ready' | 'error' | 'close' | 'end' | 'message';

/**
 * The one seam between src/redis and a Redis client: everything the store and the admin do with
 * Redis goes through it, whichever client the user gave (ioredis 5 or 6, iovalkey, node-redis 5 or
 * 6; single node, Sentinel or Cluster). It is a wrapper, never the client itself, so that no
 * error reaches the store with a credential in it and a Cluster redirection (MOVED, ASK) is
 * followed below it, never taken for an outage.
 */
export interface Connection {
  /** `ready` while Redis answers, `end` once closed for good; anything else is in between. */
  readonly status: string;
  /** True for a Redis Cluster. */
  readonly isCluster: boolean;
  on(event: ConnectionEvent, listener: (...args: unknown[]) => void): this;
  removeListener(event: ConnectionEvent, listener: (...args: unknown[]) => void): this;
  /** Runs one of the scripts (scripts/*.lua), by its SHA1 (its source again after a NOSCRIPT). */
  runScript(
    name: ScriptName,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown>;
  /** Subscribes to `channel`; messages arrive as `message` events, also after a reconnect. */
  subscribe(channel: string): Promise<unknown>;
  ping(): Promise<unknown>;
  zrevrange(key: string, start: number, stop: number): Promise<string[]>;
  zrem(key: string, member: string): Promise<unknown>;
  hget(key: string, field: string): Promise<string | null>;
  exists(key: string): Promise<number>;
  /** One SCAN step on this node: the next cursor ('0' at the end) and the keys found. */
  scan(
    cursor: string,
    match: 'MATCH',
    pattern: string,
    count: 'COUNT',
    size: number,
  ): Promise<[string, string[]]>;
  /** The masters of a Cluster (each to be scanned on its own); `[this]` for a single node. */
  nodes(role: 'master'): Connection[];
  /** Connects again after `end`. */
  connect(): Promise<void>;
  /** Closes for good: `end` follows. */
  disconnect(): void;
}
