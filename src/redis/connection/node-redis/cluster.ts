/**
 * The connection of a node-redis cluster (`createCluster`), and of one of its masters (to SCAN
 * each on its own). The cluster knows its slot map only once connected: `status` is `ready` from
 * then, and pub/sub waits for it. ../node-redis.ts opens it with the settings it needs.
 */
import type { Redactor } from '../redact.js';
import type { Connection } from '../types.js';
import { NodeRedisConnection, type Args, type NodeRedisCluster } from './base.js';

/** A connection of a node-redis cluster (`createCluster`). */
export class NodeRedisClusterConnection extends NodeRedisConnection {
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
