import { randomBytes } from 'node:crypto';
import {
  STORE_CAPABILITIES,
  type Policy,
  type Store,
  type StoreCircuit,
  type StoreConnection,
  type StoreEvent,
  type StoreHooks,
  type Transition,
} from '../stores/store.js';
import { forgetIdle } from '../stores/local-circuit.js';
import { RedisCircuit, type CircuitHost } from './circuit.js';
import {
  disconnect,
  keyPrefixOf,
  openCommandConnection,
  openSubscriber,
  runScript,
  type Connection,
} from './connections.js';
import { describeFailure } from './errors.js';
import { parseFeed, parseMessage, parseReply, type Feed, type FleetState } from './fleet.js';
import { channelName, circuitKeys, indexKey, writeFeed } from './keys.js';
import { HistoryRecorder } from './history.js';
import { Presence } from './presence.js';
import { scriptHead, type ScriptName } from './lua.js';
import {
  normalizeRedisStoreOptions,
  type NormalizedRedisStoreOptions,
  type RedisStoreOptions,
} from './options.js';

/** Most changes one poll reads; the rest wait for the next poll. */
const FEED_BATCH = 1_000;
/**
 * How far back each poll reads again, in ms: on one node the feed's scores grow with every write,
 * but after a failover the new node's clock may differ. Changes read twice are skipped.
 */
const FEED_OVERLAP = 1_000;

/**
 * - `idle`: no connection open (before the first `connect()`, after the last `disconnect()`);
 * - `starting`: connections opened, Redis not answered yet (scripts wait for it, bounded);
 * - `up`: Redis answers;
 * - `down`: Redis cannot be reached; circuits run on per-process state; probing;
 * - `recovering`: Redis answered a probe; circuits are being read again.
 */
type Phase = 'idle' | 'starting' | 'up' | 'down' | 'recovering';

/**
 * Shares circuit state across every process that uses the same Redis (single node or Cluster)
 * and `prefix`: when one process trips a circuit, all of them reject. Every decision (counting,
 * tripping, granting half-open trial permits, closing, forcing) is one Lua script, timed by
 * Redis's clock.
 *
 * The healthy path never waits on Redis: each process keeps a picture of each circuit's state,
 * updated by pub/sub; a closed circuit answers from memory, and successes are counted here
 * (failures are reported at once). While Redis is down, slow or restarting, circuits run on
 * per-process state with the same policy (the `store` event says `degraded`, then `recovered`),
 * and manual changes reject with {@link RedisStoreError}.
 *
 * The store opens its own connections from the client it is given (a command connection tuned to
 * fail fast, and a subscriber) and closes only those, when the last `Infuse` using it shuts down.
 *
 * @example
 * ```ts
 * import Redis from 'ioredis';
 * import { Infuse } from 'infuse-breaker';
 * import { RedisStore } from 'infuse-breaker/redis';
 *
 * const store = new RedisStore({ redis: new Redis(process.env.REDIS_URL), prefix: 'checkout' });
 * await store.ready(); // optional: know the fleet's circuits before the first call
 * const infuse = new Infuse({ store, failMax: 5, resetTimeout: 30_000 });
 * ```
 */
export class RedisStore implements Store {
  /**
   * Every rule, fleet-wide: a server's `Retry-After` opens the circuit for every process, the
   * slow-call rate is counted over the fleet's calls, and shadow mode also has a fleet-wide switch
   * (`RedisAdmin`'s `shadow` command) that every process obeys.
   */
  readonly capabilities = STORE_CAPABILITIES;
  readonly #options: NormalizedRedisStoreOptions;
  readonly #circuits = new Map<string, RedisCircuit>();
  readonly #hooks = new Set<StoreHooks>();
  readonly #preloaded = new Map<string, FleetState>();
  readonly #dirty = new Set<RedisCircuit>();
  readonly #leasing = new Set<RedisCircuit>();
  readonly #host: CircuitHost;
  readonly #channel: string;
  readonly #index: string;
  /** The change feed's score (ms, Redis clock) the next poll reads from; null before the first. */
  #feedCursor: number | null = null;
  /** Makes lease ids unique across the fleet. */
  readonly #id = randomBytes(8).toString('hex');
  #batches = 0;
  #phase: Phase = 'idle';
  #command: Connection | null = null;
  #subscriber: Connection | null = null;
  #ready: Promise<boolean> | null = null;
  #started: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | null =
    null;
  #flushTimer: NodeJS.Timeout | null = null;
  #pollTimer: NodeJS.Timeout | null = null;
  #probeTimer: NodeJS.Timeout | null = null;
  #renewTimer: NodeJS.Timeout | null = null;
  /** The `degraded` event of the outage under way, told to an `Infuse` that connects during it. */
  #outage: StoreEvent | null = null;
  /** What operators see: this process's transitions (history.ts) and its heartbeat (presence.ts). */
  readonly #history: HistoryRecorder;
  readonly #presence: Presence;

  /** Validates `options` (a TypeError names any bad one). Connections open on first use. */
  constructor(options: RedisStoreOptions) {
    this.#options = normalizeRedisStoreOptions(options);
    const { prefix, redis } = this.#options;
    this.#channel = channelName(keyPrefixOf(redis), prefix);
    this.#index = indexKey(prefix);
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const store = this;
    this.#host = {
      get up() {
        return (
          store.#phase === 'starting' || store.#phase === 'up' || store.#phase === 'recovering'
        );
      },
      get downCause() {
        return store.#outage?.error;
      },
      waitTimeout: this.#options.waitTimeout,
      trialLease: this.#options.trialLease,
      run: (script, circuit, args) =>
        this.#run(script, circuit.keys, circuit.key, circuit.policy, args),
      parse: parseReply,
      fail: (error) => this.#fail(error),
      transition: (transition) => this.#announce(transition),
      event: (event) => this.#emit(event),
      dirty: (circuit) => this.#markDirty(circuit),
      leasing: (circuit) => this.#markLeasing(circuit),
      index: (circuit) => this.#indexCircuit(circuit.key, circuit.policy),
      made: (circuit, fleet, event) => this.#history.made(circuit.key, fleet, event),
      leaseBatch: () => `${this.#id}:${++this.#batches}`,
      voter: this.#id,
    };
    const answering = (): Connection | null => (this.#phase === 'up' ? this.#command : null);
    this.#history = new HistoryRecorder(prefix, answering, (error) =>
      this.#emit({
        type: 'error',
        message: `RedisStore: could not write the history of transitions (${describeFailure(error)}); calls are not affected`,
        error,
      }),
    );
    this.#presence = new Presence({
      prefix,
      id: this.#id,
      interval: this.#options.pollInterval,
      connection: answering,
      circuits: () => this.#circuits.values(),
    });
  }

  /** How many circuits the store holds in this process. */
  get size(): number {
    return this.#circuits.size;
  }

  /** True while Redis cannot be reached and circuits run on per-process state. */
  get degraded(): boolean {
    return this.#phase === 'down' || this.#phase === 'recovering';
  }

  /**
   * Opens the connections (if not open yet) and resolves once Redis has answered and the
   * `preload` circuits are read: true then, false when Redis cannot be reached (calls still work,
   * on per-process state). Never rejects. Awaiting it is optional.
   */
  ready(): Promise<boolean> {
    this.#open();
    return this.#ready ?? Promise.resolve(false);
  }

  /**
   * Called by each `Infuse` given this store: opens the connections on first use and reports
   * transitions (this process's and, with `reason: 'remote'`, other processes') and store events
   * to `hooks`. The last connection to disconnect closes what the store opened.
   */
  connect(hooks: StoreHooks): StoreConnection {
    this.#hooks.add(hooks);
    this.#open();
    let connected = true;
    const outage = this.#outage;
    if (outage !== null) {
      // After the caller's own code has run, so that its `store` listener hears it.
      queueMicrotask(() => {
        if (connected && this.#outage === outage) hooks.event(outage);
      });
    }
    return {
      disconnect: () => {
        if (!connected) return Promise.resolve();
        connected = false;
        this.#hooks.delete(hooks);
        return this.#hooks.size === 0 ? this.close() : Promise.resolve();
      },
    };
  }

  /**
   * The circuit for `key` in this process, created on first use: it reads the fleet's state once
   * (unless preloaded), writing `policy.initialState` only where Redis holds nothing.
   */
  circuit(key: string, policy: Policy): StoreCircuit {
    let circuit = this.#circuits.get(key);
    if (circuit === undefined) {
      this.#open();
      const known = this.#preloaded.get(key);
      this.#preloaded.delete(key);
      const keys = circuitKeys(this.#options.prefix, key);
      circuit = new RedisCircuit(key, keys, policy, this.#host, known);
      this.#circuits.set(key, circuit);
    }
    return circuit;
  }

  /** Lets go of an idle closed circuit in this process (its state in Redis is untouched). */
  forget(key: string): boolean {
    const dropped = forgetIdle(this.#circuits, key);
    if (dropped === false) return false;
    if (dropped !== null) this.#dirty.delete(dropped);
    return true;
  }

  /**
   * Closes the connections this store opened (never the client it was given) and lets go of
   * every circuit. Called by the last `Infuse` to shut down; using the store again reopens them.
   */
  async close(): Promise<void> {
    await this.#presence.stop(this.#phase === 'up' ? this.#command : null);
    const connections = [this.#command, this.#subscriber];
    this.#command = null;
    this.#subscriber = null;
    this.#phase = 'idle';
    this.#outage = null;
    this.#feedCursor = null;
    this.#ready = null;
    this.#started?.reject(new Error('RedisStore closed'));
    this.#started = null;
    for (const timer of [this.#flushTimer, this.#pollTimer, this.#probeTimer]) {
      if (timer !== null) clearTimeout(timer);
    }
    if (this.#renewTimer !== null) clearInterval(this.#renewTimer);
    this.#flushTimer = this.#pollTimer = this.#probeTimer = this.#renewTimer = null;
    for (const circuit of this.#circuits.values()) circuit.retire();
    this.#circuits.clear();
    this.#preloaded.clear();
    this.#dirty.clear();
    this.#leasing.clear();
    await Promise.all(
      connections.flatMap((connection) => (connection === null ? [] : [disconnect(connection)])),
    );
  }

  #open(): void {
    if (this.#phase !== 'idle') return;
    const { redis, commandTimeout, preload } = this.#options;
    this.#phase = 'starting';
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => undefined);
    this.#started = { promise, resolve, reject };

    const command = openCommandConnection(redis, commandTimeout);
    this.#command = command;
    command.on('ready', () => {
      this.#onReady(command);
    });
    command.on('error', (error) => {
      if (command === this.#command) this.#fail(error);
    });
    command.on('close', () => {
      if (command === this.#command) this.#fail(new Error('connection to Redis closed'));
    });

    const subscriber = openSubscriber(redis);
    this.#subscriber = subscriber;
    let subscribedBefore = false;
    subscriber.on('error', () => {
      // The command connection decides whether Redis is reachable; the subscriber reconnects
      // by itself, and its next 'ready' triggers a resync.
    });
    subscriber.on('ready', () => {
      if (subscribedBefore && subscriber === this.#subscriber) this.#resyncAll();
      subscribedBefore = true;
    });
    subscriber.on('message', (channel, message) => {
      if (subscriber !== this.#subscriber || channel !== this.#channel) return;
      if (typeof message === 'string') this.#hear(message);
    });
    const subscribed = subscriber.subscribe(this.#channel).then(
      () => true,
      (error: unknown) => {
        this.#emit({
          type: 'error',
          message: `RedisStore: could not subscribe to ${this.#channel} (${describeFailure(error)}); transitions of other processes arrive by the slow poll only`,
          error,
        });
        return false;
      },
    );
    // A transition between a circuit's first read and the subscription would go unheard: read
    // again whatever was read before the subscription was in place.
    this.#ready = Promise.all([
      promise.then(
        () => true,
        () => false,
      ),
      subscribed,
    ]).then(async ([reached]) => {
      if (!reached || subscriber !== this.#subscriber) return false;
      // Where the change feed stands now: later changes are caught by the poll.
      await this.#poll();
      this.#resyncAll();
      await this.#preload(preload);
      // False when Redis refused the store's commands meanwhile (a missing permission).
      return this.#current() === 'up';
    });
  }

  #onReady(command: Connection): void {
    if (command !== this.#command) return;
    if (this.#phase === 'starting') {
      this.#phase = 'up';
      this.#started?.resolve();
      this.#schedulePoll();
      this.#presence.start();
    } else if (this.#phase === 'down') {
      void this.#probe();
    }
  }

  #run(
    script: ScriptName,
    keys: readonly string[],
    key: string,
    policy: Policy,
    args: readonly (string | number)[],
  ): Promise<unknown> {
    const command = this.#command;
    if (command === null || !this.#host.up) {
      return Promise.reject(new Error('Redis cannot be reached'));
    }
    const head = scriptHead(key, policy, {
      channel: this.#channel,
      ttl: this.#options.ttl,
      trialLease: this.#options.trialLease,
    });
    const send = (): Promise<unknown> => runScript(command, script, keys, [...head, ...args]);
    if (this.#phase === 'starting' && command.status !== 'ready' && this.#started !== null) {
      return this.#started.promise.then(send);
    }
    return send();
  }

  /** Redis failed to answer: run every circuit on per-process state and probe until it is back. */
  #fail(error: unknown): void {
    const phase = this.#phase;
    if (phase === 'idle' || phase === 'down') return;
    this.#phase = 'down';
    if (phase === 'starting') {
      this.#started?.reject(error);
      this.#started = null;
    }
    for (const circuit of this.#circuits.values()) circuit.fallBack();
    if (phase !== 'recovering') {
      this.#presence.lost();
      this.#outage = {
        type: 'degraded',
        message: `RedisStore: ${describeFailure(error)}; circuits run on per-process state until it is back`,
        error,
      };
      this.#emit(this.#outage);
    }
    this.#scheduleProbe();
  }

  #scheduleProbe(): void {
    if (this.#probeTimer !== null) return;
    this.#probeTimer = setTimeout(() => {
      this.#probeTimer = null;
      void this.#probe();
    }, jitter(this.#options.probeInterval));
    this.#probeTimer.unref();
  }

  /** While down: when Redis answers again, read every circuit again, then report recovery. */
  async #probe(): Promise<void> {
    const command = this.#command;
    if (command === null || this.#phase !== 'down') return;
    if (command.status !== 'ready') {
      if (command.status === 'end') command.connect().catch(() => undefined);
      this.#scheduleProbe();
      return;
    }
    try {
      await command.ping();
    } catch {
      this.#scheduleProbe();
      return;
    }
    if (this.#current() !== 'down' || command !== this.#command) return;
    this.#phase = 'recovering';
    const synced = await resyncInBatches([...this.#circuits.values()]);
    if (this.#current() !== 'recovering') return;
    if (!synced.every(Boolean)) {
      this.#phase = 'down';
      this.#scheduleProbe();
      return;
    }
    this.#phase = 'up';
    this.#outage = null;
    this.#emit({
      type: 'recovered',
      message: 'RedisStore: Redis is reachable again; circuits share the fleet state again',
    });
    this.#schedulePoll();
    this.#presence.back();
  }

  /** The phase now (a method, so that checks after an await are not narrowed away). */
  #current(): Phase {
    return this.#phase;
  }

  /** The slow poll: catches transitions whose pub/sub message was lost. */
  #schedulePoll(): void {
    if (this.#pollTimer !== null) return;
    this.#pollTimer = setTimeout(() => {
      this.#pollTimer = null;
      if (this.#phase !== 'up') return;
      void this.#poll();
      this.#schedulePoll();
    }, jitter(this.#options.pollInterval));
    this.#pollTimer.unref();
  }

  /**
   * Reads the change feed once, whatever the number of circuits known: the circuits this process
   * knows that changed since the last poll are read again; forced modes are kept alive.
   */
  async #poll(): Promise<void> {
    const command = this.#command;
    if (command === null || this.#phase !== 'up') return;
    // The first poll only learns where the feed stands ('+inf' lists nothing).
    const from = this.#feedCursor === null ? '+inf' : this.#feedCursor - FEED_OVERLAP;
    let feed: Feed;
    try {
      feed = parseFeed(await runScript(command, 'infusePoll', [this.#index], [from, FEED_BATCH]));
    } catch (error) {
      this.#fail(error);
      return;
    }
    for (const [key, score] of feed.changes) {
      this.#circuits.get(key)?.changed(score);
      this.#preloaded.delete(key);
    }
    const last = feed.changes.at(-1);
    this.#feedCursor =
      feed.changes.length === FEED_BATCH && last !== undefined ? last[1] : feed.now;
    if (from === '+inf') return;
    for (const circuit of this.#circuits.values()) circuit.keepAlive();
  }

  #resyncAll(): void {
    if (this.#phase !== 'up') return;
    void resyncInBatches([...this.#circuits.values()]);
  }

  #hear(message: string): void {
    const news = parseMessage(message);
    if (news === null) {
      this.#emit({
        type: 'malformed',
        message: `RedisStore: a message on ${this.#channel} was not written by infuse-breaker; it was ignored`,
      });
      return;
    }
    // A message names a circuit to read again, nothing more: a process's state comes from Redis's
    // keys, so that no message (anyone with PUBLISH may send one) can make it refuse a healthy host.
    this.#circuits.get(news.key)?.recheck();
    this.#preloaded.delete(news.key);
  }

  /** Reads the most recently changed circuits, so that their first call needs no round trip. */
  async #preload(limit: number): Promise<void> {
    const command = this.#command;
    if (limit === 0 || command === null) return;
    const none = { failMax: 1, resetTimeout: 0, halfOpenMaxCalls: 1, failureRate: null };
    try {
      const keys = await command.zrevrange(this.#index, 0, limit - 1);
      await Promise.all(
        keys.map(async (key) => {
          if (this.#circuits.has(key)) return;
          const policy = { ...none, initialState: null };
          const circuitKeyNames = circuitKeys(this.#options.prefix, key);
          const raw = await this.#run('infuseRead', circuitKeyNames, key, policy, ['', '', 0, 0]);
          const { fleet } = parseReply(raw);
          if (fleet.epoch === '') await command.zrem(this.#index, key);
          else if (!this.#circuits.has(key)) this.#preloaded.set(key, fleet);
        }),
      );
    } catch (error) {
      this.#emit({
        type: 'error',
        message: 'RedisStore: preloading circuits failed; they are read on first use instead',
        error,
      });
    }
  }

  #indexCircuit(key: string, policy: Policy): void {
    const command = this.#command;
    if (command === null) return;
    writeFeed(
      command,
      this.#index,
      key,
      Math.max(this.#options.ttl, 2 * policy.resetTimeout),
    ).catch(() => undefined);
  }

  #markDirty(circuit: RedisCircuit): void {
    this.#dirty.add(circuit);
    if (this.#flushTimer !== null) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = null;
      const dirty = [...this.#dirty];
      this.#dirty.clear();
      for (const each of dirty) each.flush();
    }, this.#options.flushInterval);
    this.#flushTimer.unref();
  }

  #markLeasing(circuit: RedisCircuit): void {
    this.#leasing.add(circuit);
    if (this.#renewTimer !== null) return;
    this.#renewTimer = setInterval(
      () => {
        if (this.#phase !== 'up') return;
        for (const each of this.#leasing) if (!each.renew()) this.#leasing.delete(each);
        if (this.#leasing.size === 0 && this.#renewTimer !== null) {
          clearInterval(this.#renewTimer);
          this.#renewTimer = null;
        }
      },
      Math.ceil(this.#options.trialLease / 3),
    );
    this.#renewTimer.unref();
  }

  #announce(transition: Transition): void {
    // The fleet's transitions are written by the process whose script made them (`made`); a
    // process's own (its own open without a quorum, its state while Redis is away) here.
    if (transition.scope === 'process') this.#history.record(transition);
    for (const hooks of this.#hooks) hooks.transition(transition);
  }

  #emit(event: StoreEvent): void {
    for (const hooks of this.#hooks) hooks.event(event);
  }
}

/** Circuits read again at once when all are (recovery, reconnect). */
const RESYNC_BATCH = 100;

/**
 * Reads every circuit again, a batch at a time: sent all at once, thousands of reads would queue
 * behind each other in Redis past `commandTimeout`, and a recovery would fail for its own load.
 * Resolves with each read's success, or stops at the first batch Redis did not answer.
 */
async function resyncInBatches(circuits: readonly RedisCircuit[]): Promise<boolean[]> {
  const synced: boolean[] = [];
  for (let i = 0; i < circuits.length; i += RESYNC_BATCH) {
    const batch = await Promise.all(
      circuits.slice(i, i + RESYNC_BATCH).map((circuit) => circuit.resync()),
    );
    synced.push(...batch);
    if (!batch.every(Boolean)) break;
  }
  return synced;
}

/** ±20%, so that a fleet started at once does not poll in step. */
function jitter(ms: number): number {
  return Math.round(ms * (0.8 + Math.random() * 0.4));
}
