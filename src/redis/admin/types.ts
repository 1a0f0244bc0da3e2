import type { CircuitMode, CircuitState, ForcedMode, TransitionReason } from '../../core/types.js';
import type { Command } from '../../stores/store.js';
import type { RedisClient } from '../options.js';

/**
 * One circuit as the fleet sees it, read from Redis: what every process sharing the circuit
 * through a {@link RedisStore} with the same `prefix` acts on. It is a `CircuitSnapshot` without
 * `failures`: consecutive failures are counted by each process for its own calls (see "What
 * consecutive means" in the README) and are not in Redis.
 */
export interface FleetCircuit {
  readonly key: string;
  readonly state: CircuitState;
  /** The forced mode, or `null` when none is set. */
  readonly forced: ForcedMode | null;
  /** State and forced mode in one value: the forced mode when there is one, else the state. */
  readonly mode: CircuitMode;
  /**
   * Calls and failures in the fleet's failure-rate window, counted over the window length the
   * fleet's processes use (zeros when they use no `failureRate`, or the circuit is not closed).
   */
  readonly window: { readonly calls: number; readonly failures: number };
  /** Half-open trial calls running now, across the fleet. */
  readonly trialsInFlight: number;
  /**
   * Epoch milliseconds, by Redis's clock, of the last transition; 0 for a closed circuit that
   * never changed state (Redis then holds only its failure-rate window).
   */
  readonly changedAt: number;
  /**
   * Milliseconds until an open circuit lets a trial call through, measured by Redis when it was
   * read: 0 when a call may go now, `Infinity` while forced open.
   */
  readonly retryAfter: number;
  /** Incremented on every transition (0 before the first). */
  readonly generation: number;
  /**
   * Processes that have the circuit open for themselves alone and vote to open it for the fleet
   * (their own calls reached `failMax`, too few processes agree yet; see `quorum`). 0 when none,
   * and for a circuit that is not closed.
   */
  readonly votes: number;
  /**
   * The fleet runs the circuit in shadow mode (the `shadow` command): every process lets through
   * the calls it would refuse, and the state machine runs on.
   */
  readonly shadow: boolean;
  /**
   * Calls and slow calls in the fleet's slow-call window (zeros when the fleet's processes use no
   * `slowCallRate`, or the circuit is not closed).
   */
  readonly slowCalls: { readonly calls: number; readonly slow: number };
}

/** A change of a circuit's state or forced mode, made by any process (or admin) of the fleet. */
export interface FleetTransition {
  readonly key: string;
  readonly from: CircuitState;
  readonly fromForced: ForcedMode | null;
  readonly to: CircuitState;
  readonly forced: ForcedMode | null;
  /** Why the process that made it made it (`manual` for a command; never `remote` but on a re-seed). */
  readonly reason: TransitionReason;
  readonly generation: number;
  /** Epoch milliseconds (Redis's clock) of the transition. */
  readonly changedAt: number;
  /** As {@link FleetCircuit.retryAfter}, when the transition was made. */
  readonly retryAfter: number;
}

/** Data under infuse-breaker's keys that it did not write: skipped, and reported with a reason. */
export interface MalformedCircuit {
  /** The Redis key (without the client's `keyPrefix`) where it was found. */
  readonly redisKey: string;
  /** The circuit key, when it could be read. */
  readonly key: string | null;
  readonly reason: string;
}

/**
 * What {@link RedisAdmin.command} does, the same as the `Circuit` method of that name:
 * `open`, `close`, `half-open` (`halfOpen()`), `force-open` (`forceOpen()`), `disable`,
 * `clear-forced` (`clearForced()`); and, for the fleet only, `shadow` and `unshadow`: switch the
 * circuit into and out of shadow mode in every process (as option `shadow` does in one; see
 * {@link FleetCircuit.shadow}). Shadow mode is not a state: it leaves state and counters as they
 * are.
 */
export type FleetCommand = Command | 'shadow' | 'unshadow';

/** Options of {@link RedisAdmin.command}. */
export interface FleetCommandOptions {
  /**
   * How long an `open` command opens the circuit for, in milliseconds (the fleet's processes do
   * not store their `resetTimeout` in Redis). At most one hour: a longer open period is beyond
   * what the fleet's processes accept as written by infuse-breaker. The other commands ignore it.
   * @default 60_000
   */
  readonly resetTimeout?: number;
  /**
   * Write the circuit's state even when Redis holds none (a circuit no process has used yet, e.g.
   * to force a host open before its first call). Without it, such a key rejects with
   * `ECIRCUITUNKNOWN` and nothing is written.
   * @default false
   */
  readonly create?: boolean;
  /**
   * Who sends the command, for the history (e.g. `dashboard 10.0.0.7`).
   * @default the admin's `actor`
   */
  readonly actor?: string;
}

/** Options of {@link RedisAdmin.history}. */
export interface FleetHistoryQuery {
  /** Only this circuit's entries. */
  readonly key?: string;
  /** Only entries at or after this time (epoch ms). */
  readonly since?: number;
  /**
   * Most entries returned, the newest.
   * @default 100
   */
  readonly limit?: number;
}

/** What {@link RedisAdmin.command} changed. */
export interface FleetCommandResult {
  /** The circuit just before the command (null when Redis held nothing and `create` was set). */
  readonly before: FleetCircuit | null;
  /** The circuit as the command left it. */
  readonly after: FleetCircuit;
}

/** Options of {@link RedisAdmin}. */
export interface RedisAdminOptions {
  /**
   * An ioredis `Redis` or `Cluster` (5 or 6). The admin never sends a command on it: it opens its
   * own connections from it (one for commands, one subscriber per `watch`) and closes only those.
   */
  readonly redis: RedisClient;
  /**
   * The `prefix` of the fleet's {@link RedisStore}s.
   * @default 'infuse'
   */
  readonly prefix?: string;
  /**
   * Milliseconds to wait for Redis to be reached, and for each command, before a call rejects
   * with `EREDISUNAVAILABLE`.
   * @default 2_000
   */
  readonly commandTimeout?: number;
  /**
   * Told about each circuit skipped because the data under its keys (or a pub/sub message on its
   * channel) was not written by infuse-breaker. Nothing is deleted.
   * @default emits a process warning (`RedisAdminWarning`)
   */
  readonly onMalformed?: (report: MalformedCircuit) => void;
  /**
   * Who this admin's commands come from, as the history names it.
   * @default `admin <user> on <host>` (the operating system's user and host name)
   */
  readonly actor?: string;
}
