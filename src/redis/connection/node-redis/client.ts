/**
 * The connection of a node-redis client (`createClient`): node-redis' events told as the
 * {@link Connection} seam tells them. ../node-redis.ts opens it with the settings it needs.
 */
import type { Redactor } from '../redact.js';
import type { Connection } from '../types.js';
import { NodeRedisConnection, type Args, type NodeRedisClient } from './base.js';

/** A connection of a node-redis client (`createClient`). */
export class NodeRedisClientConnection extends NodeRedisConnection {
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
