/**
 * The reference the issue asks for: a store that reads the state with one GET before each call
 * and writes after it, the way pybreaker's Redis storage works. Enough of a store to run the
 * healthy path through Infuse; it is not a correct breaker and is not exported anywhere.
 */
import type { Redis } from 'ioredis';
import type { CircuitSnapshot } from '../../src/index.js';
import type {
  Admission,
  Store,
  StoreCircuit,
  StoreConnection,
  StoreVerdict,
  Ticket,
} from '../../src/index.js';

const TICKET: Ticket = Object.freeze({ allowed: true, kind: 'closed', generation: 0 });

class NaiveCircuit implements StoreCircuit {
  readonly key: string;
  readonly state = 'closed';
  readonly forced = null;
  readonly failures = 0;
  readonly retired = false;
  readonly #redis: Redis;

  constructor(key: string, redis: Redis) {
    this.key = key;
    this.#redis = redis;
  }

  async acquire(): Promise<Admission> {
    const state = await this.#redis.get(`naive:${this.key}:state`);
    if (state === 'open') return { allowed: false, state: 'open', forced: null, retryAfter: 1 };
    return TICKET;
  }

  async release(_ticket: Ticket, verdict: StoreVerdict): Promise<void> {
    const counter = `naive:${this.key}:failures`;
    if (verdict === 'failure') await this.#redis.incr(counter);
    else await this.#redis.set(counter, '0');
  }

  command(): Promise<void> {
    return Promise.resolve();
  }

  snapshot(): CircuitSnapshot {
    throw new Error('not needed by the benchmark');
  }
}

export class NaiveRedisStore implements Store {
  readonly #redis: Redis;

  constructor(redis: Redis) {
    this.#redis = redis;
  }

  connect(): StoreConnection {
    return { disconnect: () => Promise.resolve() };
  }

  circuit(key: string): StoreCircuit {
    return new NaiveCircuit(key, this.#redis);
  }

  forget(): boolean {
    return true;
  }
}
