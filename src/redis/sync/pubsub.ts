/**
 * The fast half of synchronisation: every script that makes a transition publishes it on the
 * store's channel, and each process reads again the circuit a message names. A message is only a
 * hint: the state comes from Redis's keys, so that no message (anyone with PUBLISH may send one)
 * can make a process refuse a healthy host. Lost messages are caught by the change feed (feed.ts).
 */
import type { StoreEvent } from '../../stores/store.js';
import { disconnect, openSubscriber, type Connection } from '../connections.js';
import { describeFailure } from '../errors.js';
import { parseMessage, type FleetMessage } from '../fleet.js';
import type { RedisClient } from '../options.js';

/** What the subscription tells the store. */
export interface Listener {
  /** A message says a circuit changed (a hint, never to be applied as it comes). */
  heard(news: FleetMessage): void;
  /** The subscriber reconnected: messages may have been lost meanwhile; read everything again. */
  reconnected(): void;
  event(event: StoreEvent): void;
}

/** One subscriber connection, subscribed to the store's channel from `open` until `close`. */
export class Subscription {
  readonly #channel: string;
  readonly #listener: Listener;
  readonly #connection: Connection;
  #closed = false;
  /** Resolves true once subscribed, false when Redis refused (the slow poll still runs). */
  readonly subscribed: Promise<boolean>;

  constructor(redis: RedisClient, channel: string, listener: Listener) {
    this.#channel = channel;
    this.#listener = listener;
    const subscriber = openSubscriber(redis);
    this.#connection = subscriber;
    let subscribedBefore = false;
    subscriber.on('error', () => {
      // The command connection decides whether Redis is reachable; the subscriber reconnects
      // by itself, and its next 'ready' triggers a resync.
    });
    subscriber.on('ready', () => {
      if (subscribedBefore && !this.#closed) listener.reconnected();
      subscribedBefore = true;
    });
    subscriber.on('message', (channel, message) => {
      if (this.#closed || channel !== this.#channel) return;
      if (typeof message === 'string') this.#hear(message);
    });
    this.subscribed = subscriber.subscribe(channel).then(
      () => true,
      (error: unknown) => {
        listener.event({
          type: 'error',
          message: `RedisStore: could not subscribe to ${channel} (${describeFailure(error)}); transitions of other processes arrive by the slow poll only`,
          error,
        });
        return false;
      },
    );
  }

  /** False once closed. */
  get open(): boolean {
    return !this.#closed;
  }

  /** Stops listening; resolves once the connection has closed. */
  close(): Promise<void> {
    this.#closed = true;
    return disconnect(this.#connection);
  }

  #hear(message: string): void {
    const news = parseMessage(message);
    if (news === null) {
      this.#listener.event({
        type: 'malformed',
        message: `RedisStore: a message on ${this.#channel} was not written by infuse-breaker; it was ignored`,
      });
      return;
    }
    this.#listener.heard(news);
  }
}
