/**
 * `preload`: at start, the most recently changed circuits (the change feed's newest entries) are
 * read before any call needs them, so that their first call needs no round trip.
 */
import type { Policy, StoreEvent } from '../../stores/store.js';
import type { Connection } from '../connections.js';
import type { FleetState } from '../fleet.js';

/** The policy a preload reads a circuit with: it writes nothing, so none of it matters. */
export const READER: Policy = {
  failMax: 1,
  resetTimeout: 0,
  halfOpenMaxCalls: 1,
  failureRate: null,
  initialState: null,
};

/** What preloading needs from the store. */
export interface Preloader {
  readonly connection: Connection;
  /** The change feed's key. */
  readonly index: string;
  /** True when the store holds circuit `key` already (it read it itself). */
  has(key: string): boolean;
  /** Reads circuit `key` as Redis holds it, changing nothing. */
  read(key: string): Promise<FleetState>;
  /** Keeps what was read, for the circuit's first use. */
  keep(key: string, fleet: FleetState): void;
  event(event: StoreEvent): void;
}

/** Reads the `limit` most recently changed circuits; never rejects (they are read on first use). */
export async function preload(limit: number, store: Preloader): Promise<void> {
  if (limit === 0) return;
  const { connection, index } = store;
  try {
    const keys = await connection.zrevrange(index, 0, limit - 1);
    await Promise.all(
      keys.map(async (key) => {
        if (store.has(key)) return;
        const fleet = await store.read(key);
        // Listed, but its keys expired: nothing to read on first use either.
        if (fleet.epoch === '') await connection.zrem(index, key);
        else if (!store.has(key)) store.keep(key, fleet);
      }),
    );
  } catch (error) {
    store.event({
      type: 'error',
      message: 'RedisStore: preloading circuits failed; they are read on first use instead',
      error,
    });
  }
}
