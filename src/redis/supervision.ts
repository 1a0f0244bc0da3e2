/**
 * Connection supervision: whether Redis answers the store, and what happens when it stops. The
 * supervisor owns the command connection and one phase; it declares Redis down on the first
 * command that fails, probes until Redis answers again, and tells the store at each step (the
 * store then moves its circuits to per-process state and back).
 */
import type { StoreEvent } from '../stores/store.js';
import { disconnect, openCommandConnection, type Connection } from './connections.js';
import { describeFailure } from './errors.js';
import type { RedisClient } from './options.js';
import { jitter } from './wait.js';

/**
 * - `idle`: no connection open (before the first `open()`, after `close()`);
 * - `starting`: connection opened, Redis not answered yet (scripts wait for it, bounded);
 * - `up`: Redis answers;
 * - `down`: Redis cannot be reached; circuits run on per-process state; probing;
 * - `recovering`: Redis answered a probe; circuits are being read again.
 */
export type Phase = 'idle' | 'starting' | 'up' | 'down' | 'recovering';

/** What the supervisor tells the store. */
export interface SupervisedStore {
  /** Redis answered for the first time since `open()`. */
  reached(): void;
  /**
   * Redis cannot be reached: run every circuit on per-process state. `outage` is the `degraded`
   * event to tell, or null when the outage was told already (a recovery that failed).
   */
  lost(outage: StoreEvent | null): void;
  /** A probe was answered: read every circuit again; true once all were read. */
  resync(): Promise<boolean>;
  /** Every circuit was read again: the store shares the fleet's state again. */
  recovered(): void;
}

interface Gate {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export class Supervisor {
  readonly #store: SupervisedStore;
  readonly #probeInterval: number;
  #phase: Phase = 'idle';
  #command: Connection | null = null;
  /** Settles when Redis first answers after `open()` (rejects when it fails first). */
  #started: Gate | null = null;
  #probeTimer: NodeJS.Timeout | null = null;
  /** The `degraded` event of the outage under way, told to an `Infuse` that connects during it. */
  #outage: StoreEvent | null = null;

  constructor(store: SupervisedStore, probeInterval: number) {
    this.#store = store;
    this.#probeInterval = probeInterval;
  }

  get phase(): Phase {
    return this.#phase;
  }

  /** True while scripts may run: Redis answers, or is expected to (starting, recovering). */
  get up(): boolean {
    return this.#phase === 'starting' || this.#phase === 'up' || this.#phase === 'recovering';
  }

  /** True while Redis cannot be reached and circuits run on per-process state. */
  get degraded(): boolean {
    return this.#phase === 'down' || this.#phase === 'recovering';
  }

  get outage(): StoreEvent | null {
    return this.#outage;
  }

  /** The command connection, whatever the phase (null while idle). */
  get command(): Connection | null {
    return this.#command;
  }

  /** The command connection while Redis answers, else null. */
  answering(): Connection | null {
    return this.#phase === 'up' ? this.#command : null;
  }

  /**
   * Opens the command connection (when idle). Resolves true once Redis has answered, false when it
   * failed first or the supervisor was closed meanwhile.
   */
  open(redis: RedisClient, commandTimeout: number): Promise<boolean> {
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
      if (command === this.#command) this.fail(error);
    });
    command.on('close', () => {
      if (command === this.#command) this.fail(new Error('connection to Redis closed'));
    });
    return promise.then(
      () => true,
      () => false,
    );
  }

  /**
   * Runs `send` on the command connection: at once when Redis answers, after its first answer
   * while starting; rejects when Redis cannot be reached.
   */
  run<T>(send: (command: Connection) => Promise<T>): Promise<T> {
    const command = this.#command;
    if (command === null || !this.up) {
      return Promise.reject(new Error('Redis cannot be reached'));
    }
    if (this.#phase === 'starting' && command.status !== 'ready' && this.#started !== null) {
      return this.#started.promise.then(() => send(command));
    }
    return send(command);
  }

  /** Redis failed to answer: tell the store, and probe until it is back. */
  fail(error: unknown): void {
    const phase = this.#phase;
    if (phase === 'idle' || phase === 'down') return;
    this.#phase = 'down';
    if (phase === 'starting') {
      this.#started?.reject(error);
      this.#started = null;
    }
    if (phase === 'recovering') {
      this.#store.lost(null);
    } else {
      this.#outage = {
        type: 'degraded',
        message: `RedisStore: ${describeFailure(error)}; circuits run on per-process state until it is back`,
        error,
      };
      this.#store.lost(this.#outage);
    }
    this.#scheduleProbe();
  }

  /** Back to idle; resolves once the command connection has closed. */
  close(): Promise<void> {
    const command = this.#command;
    this.#command = null;
    this.#phase = 'idle';
    this.#outage = null;
    this.#started?.reject(new Error('RedisStore closed'));
    this.#started = null;
    if (this.#probeTimer !== null) clearTimeout(this.#probeTimer);
    this.#probeTimer = null;
    return command === null ? Promise.resolve() : disconnect(command);
  }

  #onReady(command: Connection): void {
    if (command !== this.#command) return;
    if (this.#phase === 'starting') {
      this.#phase = 'up';
      this.#started?.resolve();
      this.#store.reached();
    } else if (this.#phase === 'down') {
      void this.#probe();
    }
  }

  #scheduleProbe(): void {
    if (this.#probeTimer !== null) return;
    this.#probeTimer = setTimeout(() => {
      this.#probeTimer = null;
      void this.#probe();
    }, jitter(this.#probeInterval));
    this.#probeTimer.unref();
  }

  /** While down: when Redis answers again, have every circuit read again, then report recovery. */
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
    const synced = await this.#store.resync();
    if (this.#current() !== 'recovering') return;
    if (!synced) {
      this.#phase = 'down';
      this.#scheduleProbe();
      return;
    }
    this.#phase = 'up';
    this.#outage = null;
    this.#store.recovered();
  }

  /** The phase now (a method, so that checks after an await are not narrowed away). */
  #current(): Phase {
    return this.#phase;
  }
}
