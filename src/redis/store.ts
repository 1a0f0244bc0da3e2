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
import { Batching, resyncInBatches } from './batching.js';
import { RedisCircuit, type CircuitHost } from './circuit.js';
import { keyPrefixOf, runScript } from './connections.js';
import { describeFailure } from './errors.js';
import { parseReply, type FleetState } from './fleet.js';
import { channelName, circuitKeys } from './keys.js';
import { HistoryRecorder } from './history.js';
import { Presence } from './presence/heartbeat.js';
import { scriptHead, SCRIPTS, type Arg, type ScriptName } from './scripts/index.js';
import {
  normalizeRedisStoreOptions,
  type NormalizedRedisStoreOptions,
  type RedisStoreOptions,
} from './options.js';
import { Supervisor } from './supervision.js';
import { Sync } from './sync/index.js';
import { indexKey } from './sync/feed.js';
import { READER } from './sync/preload.js';

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
  /** The registry: this process's circuits, and what preloading read for circuits not used yet. */
  readonly #circuits = new Map<string, RedisCircuit>();
  readonly #preloaded = new Map<string, FleetState>();
  readonly #hooks = new Set<StoreHooks>();
  readonly #host: CircuitHost;
  readonly #channel: string;
  readonly #index: string;
  /** Makes lease ids unique across the fleet. */
  readonly #id = randomBytes(8).toString('hex');
  #leaseBatches = 0;
  /** Whether Redis answers (supervision.ts). */
  readonly #supervisor: Supervisor;
  /** How this process learns of other processes' changes: pub/sub and the change feed (sync/). */
  readonly #sync: Sync;
  /** Successes and lease renewals sent for many circuits at once (batching.ts). */
  readonly #batching: Batching<RedisCircuit>;
  #ready: Promise<boolean> | null = null;
  /** What operators see: this process's transitions (history.ts) and heartbeat (presence/). */
  readonly #history: HistoryRecorder;
  readonly #presence: Presence;

  /** Validates `options` (a TypeError names any bad one). Connections open on first use. */
  constructor(options: RedisStoreOptions) {
    this.#options = normalizeRedisStoreOptions(options);
    const { prefix, redis, pollInterval, probeInterval, flushInterval, trialLease } = this.#options;
    this.#channel = channelName(keyPrefixOf(redis), prefix);
    this.#index = indexKey(prefix);
    this.#supervisor = new Supervisor(
      {
        reached: () => {
          this.#sync.poll();
          this.#presence.start();
        },
        lost: (outage) => {
          for (const circuit of this.#circuits.values()) circuit.fallBack();
          if (outage === null) return;
          this.#presence.lost();
          this.#emit(outage);
        },
        resync: () => resyncInBatches([...this.#circuits.values()]),
        recovered: () => {
          this.#emit({
            type: 'recovered',
            message: 'RedisStore: Redis is reachable again; circuits share the fleet state again',
          });
          this.#sync.poll();
          this.#presence.back();
        },
      },
      probeInterval,
    );
    const answering = () => this.#supervisor.answering();
    this.#sync = new Sync(
      { channel: this.#channel, index: this.#index, pollInterval, preload: this.#options.preload },
      { circuits: this.#circuits, preloaded: this.#preloaded },
      this.#supervisor,
      {
        read: async (key) => {
          const keys = circuitKeys(prefix, key);
          const raw = await this.#run('infuseRead', keys, key, READER, {
            seedState: '',
            seedForced: '',
            seedRemaining: 0,
            keepAlive: 0,
          });
          return parseReply(raw).fleet;
        },
        event: (event) => this.#emit(event),
      },
    );
    this.#batching = new Batching(flushInterval, trialLease, () => answering() !== null);
    const supervisor = this.#supervisor;
    this.#host = {
      get up() {
        return supervisor.up;
      },
      get downCause() {
        return supervisor.outage?.error;
      },
      waitTimeout: this.#options.waitTimeout,
      trialLease,
      run: (script, circuit, args, rest) =>
        this.#run(script, circuit.keys, circuit.key, circuit.policy, args, rest),
      parse: parseReply,
      fail: (error) => supervisor.fail(error),
      transition: (transition) => this.#announce(transition),
      event: (event) => this.#emit(event),
      dirty: (circuit) => this.#batching.dirty(circuit),
      leasing: (circuit) => this.#batching.leasing(circuit),
      index: ({ key, policy }) =>
        this.#sync.listChange(key, Math.max(this.#options.ttl, 2 * policy.resetTimeout)),
      made: (circuit, fleet, event) => this.#history.made(circuit.key, fleet, event),
      leaseBatch: () => `${this.#id}:${++this.#leaseBatches}`,
      voter: this.#id,
    };
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
      interval: pollInterval,
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
    return this.#supervisor.degraded;
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
    const outage = this.#supervisor.outage;
    if (outage !== null) {
      // After the caller's own code has run, so that its `store` listener hears it.
      queueMicrotask(() => {
        if (connected && this.#supervisor.outage === outage) hooks.event(outage);
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
    if (dropped !== null) this.#batching.forget(dropped);
    return true;
  }

  /**
   * Closes the connections this store opened (never the client it was given) and lets go of
   * every circuit. Called by the last `Infuse` to shut down; using the store again reopens them.
   */
  async close(): Promise<void> {
    await this.#presence.stop(this.#supervisor.answering());
    this.#ready = null;
    this.#batching.stop();
    for (const circuit of this.#circuits.values()) circuit.retire();
    this.#circuits.clear();
    this.#preloaded.clear();
    await Promise.all([this.#supervisor.close(), this.#sync.close()]);
  }

  #open(): void {
    if (this.#supervisor.phase !== 'idle') return;
    const { redis, commandTimeout } = this.#options;
    this.#ready = this.#sync.open(redis, this.#supervisor.open(redis, commandTimeout));
  }

  #run(
    script: ScriptName,
    keys: readonly string[],
    key: string,
    policy: Policy,
    args: Readonly<Record<string, Arg>>,
    rest?: readonly Arg[],
  ): Promise<unknown> {
    const head = SCRIPTS[script].prelude
      ? scriptHead(key, policy, {
          channel: this.#channel,
          ttl: this.#options.ttl,
          trialLease: this.#options.trialLease,
        })
      : {};
    return this.#supervisor.run((command) =>
      runScript(command, script, keys, { ...head, ...args }, rest),
    );
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
