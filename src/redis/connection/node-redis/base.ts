/**
 * What every node-redis connection shares, whether it talks to one node or a cluster: the members
 * of node-redis' client and cluster this layer calls (node-redis 5 and 6 alike), commands sent as
 * raw arguments, scripts run by SHA1 (their source again after a NOSCRIPT), and errors redacted
 * and named as ioredis names them. The wrappers built on it: client.ts (`createClient`) and
 * cluster.ts (`createCluster`, and one master of it); ../node-redis.ts opens them.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { SCRIPTS, type ScriptName } from '../../scripts/index.js';
import type { Redactor } from '../redact.js';
import type { Connection, ConnectionEvent } from '../types.js';

type Listener = (...args: unknown[]) => void;
export type Args = string[];

/** The members of a node-redis client this layer calls. */
export interface NodeRedisClient {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  readonly options?: Record<string, unknown>;
  on(event: string, listener: Listener): unknown;
  duplicate(overrides: object): NodeRedisClient;
  connect(): Promise<unknown>;
  destroy(): void;
  sendCommand(args: Args): Promise<unknown>;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void>;
}

/** The members of a node-redis cluster this layer calls. */
export interface NodeRedisCluster {
  readonly isOpen: boolean;
  readonly masters: readonly unknown[];
  readonly _options?: { readonly defaults?: object };
  on(event: string, listener: Listener): unknown;
  duplicate(overrides: object): NodeRedisCluster;
  connect(): Promise<unknown>;
  destroy(): void;
  nodeClient(node: unknown): NodeRedisClient | Promise<NodeRedisClient>;
  sendCommand(firstKey: string | undefined, isReadonly: boolean, args: Args): Promise<unknown>;
  subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<void>;
}

const SHA1 = Object.fromEntries(
  Object.entries(SCRIPTS).map(([name, { lua }]) => [
    name,
    createHash('sha1').update(lua).digest('hex'),
  ]),
) as Record<ScriptName, string>;

/** node-redis' reply errors (Redis answered with an error) by class name. */
const REPLY_ERRORS = new Set(['ErrorReply', 'SimpleError', 'BlobError']);

/**
 * What a node-redis connection does the same whether it talks to one node or a cluster: the
 * commands (as raw arguments), scripts by SHA1, and events with errors redacted.
 */
export abstract class NodeRedisConnection extends EventEmitter implements Connection {
  readonly #redactor: Redactor;
  readonly #reject: (error: unknown) => never;

  constructor(redactor: Redactor) {
    super();
    this.#redactor = redactor;
    this.#reject = (error) => {
      throw this.#clean(error);
    };
  }

  abstract readonly status: string;
  abstract readonly isCluster: boolean;
  protected abstract send(
    args: Args,
    firstKey: string | undefined,
    readonly: boolean,
  ): Promise<unknown>;
  abstract subscribe(channel: string): Promise<unknown>;
  abstract nodes(role: 'master'): Connection[];
  abstract connect(): Promise<void>;
  abstract disconnect(): void;

  override on(event: ConnectionEvent, listener: Listener): this {
    return super.on(event, listener);
  }

  override removeListener(event: ConnectionEvent, listener: Listener): this {
    return super.removeListener(event, listener);
  }

  async runScript(
    name: ScriptName,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    const rest = [String(keys.length), ...keys, ...args.map(String)];
    try {
      return await this.send(['EVALSHA', SHA1[name], ...rest], keys[0], false);
    } catch (error) {
      // A new or restarted node (a failover, a flush) does not know the script yet.
      if (!(error instanceof Error && error.message.startsWith('NOSCRIPT')))
        throw this.#clean(error);
    }
    return this.send(['EVAL', SCRIPTS[name].lua, ...rest], keys[0], false).catch(this.#reject);
  }

  ping(): Promise<unknown> {
    return this.send(['PING'], undefined, true).catch(this.#reject);
  }

  zrevrange(key: string, start: number, stop: number): Promise<string[]> {
    return this.#read<string[]>(['ZREVRANGE', key, String(start), String(stop)], key);
  }

  zrem(key: string, member: string): Promise<unknown> {
    return this.send(['ZREM', key, member], key, false).catch(this.#reject);
  }

  hget(key: string, field: string): Promise<string | null> {
    return this.#read<string | null>(['HGET', key, field], key);
  }

  exists(key: string): Promise<number> {
    return this.#read<number>(['EXISTS', key], key);
  }

  scan(
    cursor: string,
    match: 'MATCH',
    pattern: string,
    count: 'COUNT',
    size: number,
  ): Promise<[string, string[]]> {
    return this.#read(['SCAN', cursor, match, pattern, count, String(size)], undefined);
  }

  protected emitError(error: unknown): void {
    // An EventEmitter throws an 'error' nobody listens to: the owner decides whether it matters.
    if (this.listenerCount('error') > 0) this.emit('error', this.#clean(error));
  }

  protected message = (message: string, channel: string): void => {
    this.emit('message', channel, message);
  };

  #read<T>(args: Args, key: string | undefined): Promise<T> {
    return this.send(args, key, true).catch(this.#reject) as Promise<T>;
  }

  /** Redacted, and a reply error named as ioredis names it, so owners tell it apart one way. */
  #clean(error: unknown): unknown {
    if (error instanceof Error && REPLY_ERRORS.has(error.constructor.name)) {
      error.name = 'ReplyError';
    }
    return this.#redactor.error(error);
  }
}
