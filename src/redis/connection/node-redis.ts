/**
 * Connections from a node-redis (5, 6) client or cluster. Fail-fast settings, node-redis' names
 * for ioredis' ones: `disableOfflineQueue` (a command while disconnected fails at once; on a lost
 * socket every queued command fails instead of being re-sent after the reconnect, so a report never
 * counts twice) and `commandOptions.timeout` (a command unanswered in time fails). node-redis
 * follows MOVED and ASK itself, refreshing its slot map.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { SCRIPTS, type ScriptName } from '../scripts/index.js';
import type {
  NodeRedisClient as NodeRedisClientLike,
  NodeRedisCluster as NodeRedisClusterLike,
} from '../options.js';
import type { Redactor } from './redact.js';
import type { Connection, ConnectionEvent } from './types.js';

type Listener = (...args: unknown[]) => void;
type Args = string[];

/** The members of a node-redis client this file calls. */
interface NodeRedisClient {
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

/** The members of a node-redis cluster this file calls. */
interface NodeRedisCluster {
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
abstract class NodeRedisConnection extends EventEmitter implements Connection {
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

/** A connection of a node-redis client (`createClient`). */
class NodeRedisClientConnection extends NodeRedisConnection {
  readonly isCluster = false;
  readonly #client: NodeRedisClient;

  constructor(client: NodeRedisClient, redactor: Redactor) {
    super(redactor);
    this.#client = client;
    // node-redis throws an 'error' nobody listens to, and reconnects by itself.
    client.on('error', (error) => this.emitError(error));
    client.on('ready', () => this.emit('ready'));
    client.on('reconnecting', () => this.emit('close'));
    client.on('end', () => this.emit('end'));
  }

  get status(): string {
    if (this.#client.isReady) return 'ready';
    return this.#client.isOpen ? 'reconnecting' : 'end';
  }

  protected send(args: Args): Promise<unknown> {
    return this.#client.sendCommand(args);
  }

  subscribe(channel: string): Promise<unknown> {
    return this.#client.subscribe(channel, this.message);
  }

  nodes(): Connection[] {
    return [this];
  }

  async connect(): Promise<void> {
    if (!this.#client.isOpen) await this.#client.connect();
  }

  disconnect(): void {
    if (this.#client.isOpen) this.#client.destroy();
  }
}

/** A connection of a node-redis cluster (`createCluster`). */
class NodeRedisClusterConnection extends NodeRedisConnection {
  readonly isCluster = true;
  readonly #cluster: NodeRedisCluster;
  readonly #redactor: Redactor;
  /** True once the slot map is known (connect() resolved) and until destroy(). */
  #connected = false;
  #ended = false;
  /** The last connect(), which subscribe() waits for. */
  #opening: Promise<void> | null = null;

  constructor(cluster: NodeRedisCluster, redactor: Redactor) {
    super(redactor);
    this.#cluster = cluster;
    this.#redactor = redactor;
    cluster.on('error', (error) => this.emitError(error));
    // Node errors reach the owner as failed commands; a node back is worth a probe.
    cluster.on('node-error', () => undefined);
    cluster.on('node-ready', () => {
      if (this.#connected) this.emit('ready');
    });
  }

  get status(): string {
    if (this.#ended) return 'end';
    return this.#connected && this.#cluster.isOpen ? 'ready' : 'connecting';
  }

  protected send(args: Args, firstKey: string | undefined, readonly: boolean): Promise<unknown> {
    return this.#cluster.sendCommand(firstKey, readonly, args);
  }

  async subscribe(channel: string): Promise<unknown> {
    // The cluster picks its pub/sub node from the slot map: only once it is connected.
    await this.#opening?.catch(() => undefined);
    return this.#cluster.subscribe(channel, this.message);
  }

  nodes(): Connection[] {
    return this.#cluster.masters.map(
      (master) => new NodeRedisNodeConnection(this.#cluster, master, this.#redactor),
    );
  }

  connect(): Promise<void> {
    this.#opening = this.#connect();
    return this.#opening;
  }

  async #connect(): Promise<void> {
    this.#ended = false;
    try {
      if (!this.#cluster.isOpen) await this.#cluster.connect();
    } catch (error) {
      this.emitError(error);
      throw error;
    }
    this.#connected = true;
    this.emit('ready');
  }

  disconnect(): void {
    this.#connected = false;
    if (this.#ended) return;
    this.#ended = true;
    if (this.#cluster.isOpen) this.#cluster.destroy();
    this.emit('end');
  }
}

/** One master of a node-redis cluster, to SCAN on its own (the cluster owns its connection). */
class NodeRedisNodeConnection extends NodeRedisConnection {
  readonly isCluster = false;
  readonly status = 'ready';
  readonly #cluster: NodeRedisCluster;
  readonly #master: unknown;

  constructor(cluster: NodeRedisCluster, master: unknown, redactor: Redactor) {
    super(redactor);
    this.#cluster = cluster;
    this.#master = master;
  }

  protected async send(args: Args): Promise<unknown> {
    const client = await this.#cluster.nodeClient(this.#master);
    return client.sendCommand(args);
  }

  subscribe(): Promise<unknown> {
    return Promise.reject(new Error('subscribe on the cluster, not on one of its nodes'));
  }

  nodes(): Connection[] {
    return [this];
  }

  async connect(): Promise<void> {
    // The cluster connects its nodes.
  }

  disconnect(): void {
    // The cluster closes its nodes.
  }
}

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
