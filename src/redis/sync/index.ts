/**
 * Synchronisation: how a process learns what other processes changed. Pub/sub (pubsub.ts) says
 * which circuit to read again at once; the change feed (feed.ts), read once per `pollInterval`,
 * catches what pub/sub lost; `preload` (preload.ts) reads the latest changes at start. All of it
 * only ever makes a circuit read Redis again: the state itself always comes from Redis's keys.
 */
import type { StoreEvent } from '../../stores/store.js';
import { resyncInBatches } from '../batching.js';
import type { RedisCircuit } from '../circuit.js';
import type { FleetState } from '../fleet.js';
import type { RedisClient } from '../options.js';
import type { Supervisor } from '../supervision.js';
import { ChangeFeed, writeFeed } from './feed.js';
import { preload } from './preload.js';
import { Subscription } from './pubsub.js';

/** The circuits a store holds, as synchronisation sees them. */
export interface Registry {
  /** This process's circuits. */
  readonly circuits: ReadonlyMap<string, RedisCircuit>;
  /** What preloading read of circuits not used yet; news about one makes it stale. */
  readonly preloaded: Map<string, FleetState>;
}

export interface SyncSettings {
  readonly channel: string;
  /** The change feed's key. */
  readonly index: string;
  readonly pollInterval: number;
  /** How many recently changed circuits to read at start. */
  readonly preload: number;
}

/** What synchronisation asks of the store. */
export interface Synced {
  /** Reads circuit `key` as Redis holds it, changing nothing. */
  read(key: string): Promise<FleetState>;
  event(event: StoreEvent): void;
}

export class Sync {
  readonly #settings: SyncSettings;
  readonly #registry: Registry;
  readonly #supervisor: Supervisor;
  readonly #store: Synced;
  readonly #feed: ChangeFeed;
  #subscription: Subscription | null = null;

  constructor(settings: SyncSettings, registry: Registry, supervisor: Supervisor, store: Synced) {
    this.#settings = settings;
    this.#registry = registry;
    this.#supervisor = supervisor;
    this.#store = store;
    this.#feed = new ChangeFeed(settings.index, settings.pollInterval, {
      connection: () => supervisor.answering(),
      changed: (key, score) => {
        registry.circuits.get(key)?.changed(score);
        registry.preloaded.delete(key);
      },
      polled: () => {
        for (const circuit of registry.circuits.values()) circuit.keepAlive();
      },
      fail: (error) => supervisor.fail(error),
    });
  }

  /** Polls the change feed while Redis answers (from now, and again after an outage). */
  poll(): void {
    this.#feed.schedule();
  }

  /**
   * Subscribes; resolves once Redis has answered (`reached`), the subscription is in place and the
   * `preload` circuits are read: true then, false when Redis could not be reached.
   */
  open(redis: RedisClient, reached: Promise<boolean>): Promise<boolean> {
    const { circuits, preloaded } = this.#registry;
    const subscription = new Subscription(redis, this.#settings.channel, {
      heard: (news) => {
        circuits.get(news.key)?.heard(news);
        preloaded.delete(news.key);
      },
      reconnected: () => this.#resyncAll(),
      event: (event) => this.#store.event(event),
    });
    this.#subscription = subscription;
    // A transition between a circuit's first read and the subscription would go unheard: read
    // again whatever was read before the subscription was in place.
    return Promise.all([reached, subscription.subscribed]).then(async ([ok]) => {
      if (!ok || subscription !== this.#subscription) return false;
      // Where the change feed stands now: later changes are caught by the poll.
      await this.#feed.poll();
      this.#resyncAll();
      await this.#preload();
      // False when Redis refused the store's commands meanwhile (a missing permission).
      return this.#supervisor.phase === 'up';
    });
  }

  /** Stops listening and polling; resolves once the subscriber has closed. */
  close(): Promise<void> {
    const subscription = this.#subscription;
    this.#subscription = null;
    this.#feed.stop();
    return subscription === null ? Promise.resolve() : subscription.close();
  }

  /** Lists circuit `key` in the change feed: its state was created or changed here. */
  listChange(key: string, lifetime: number): void {
    const command = this.#supervisor.command;
    if (command === null) return;
    writeFeed(command, this.#settings.index, key, lifetime).catch(() => undefined);
  }

  #resyncAll(): void {
    if (this.#supervisor.phase !== 'up') return;
    void resyncInBatches([...this.#registry.circuits.values()]);
  }

  #preload(): Promise<void> {
    const connection = this.#supervisor.command;
    if (connection === null) return Promise.resolve();
    const { circuits, preloaded } = this.#registry;
    return preload(this.#settings.preload, {
      connection,
      index: this.#settings.index,
      has: (key) => circuits.has(key),
      read: (key) => this.#store.read(key),
      keep: (key, fleet) => preloaded.set(key, fleet),
      event: (event) => this.#store.event(event),
    });
  }
}
