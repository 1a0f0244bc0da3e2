import type { LocalCircuit } from '../../stores/local-circuit.js';
import type { Admission, StoreEvent, Transition } from '../../stores/store.js';
import type { Arg, ScriptName } from '../scripts/index.js';
import type { FleetState, ScriptEvent, ScriptReply } from '../fleet.js';
import type { RedisCircuit } from '../circuit.js';
import type { ScriptLink } from './link.js';
import type { Mode } from './modes.js';

/** What a circuit needs from its store. */
export interface CircuitHost {
  /** False while Redis is unreachable: circuits then run on per-process state. */
  readonly up: boolean;
  /** Why Redis is unreachable (while `up` is false). */
  readonly downCause: unknown;
  readonly waitTimeout: number;
  readonly trialLease: number;
  /**
   * Runs a script for the circuit, with `args` by the names the script declares (the circuit
   * scripts' head is added); rejects when Redis does not answer.
   */
  run(
    script: ScriptName,
    circuit: RedisCircuit,
    args: Readonly<Record<string, Arg>>,
    rest?: readonly Arg[],
  ): Promise<unknown>;
  /** Parses a reply; malformed ones are reported and rejected. */
  parse(raw: unknown): ScriptReply;
  /** A command failed: Redis is probably unreachable. */
  fail(error: unknown): void;
  transition(transition: Transition): void;
  event(event: StoreEvent): void;
  /** Successes wait to be flushed. */
  dirty(circuit: RedisCircuit): void;
  /** The circuit holds trial leases that must be renewed. */
  leasing(circuit: RedisCircuit): void;
  /** The circuit's state was created or changed here: list it for preloading. */
  index(circuit: RedisCircuit): void;
  /** A script of this process made a transition of the fleet's state: write it into the history. */
  made(circuit: RedisCircuit, fleet: FleetState, event: ScriptEvent): void;
  /** A lease id prefix unique across the fleet. */
  leaseBatch(): string;
  /** This process's id in the quorum's ballots. */
  readonly voter: string;
}

/**
 * The part of a {@link RedisCircuit} its helpers (trial permits, the process's own open, the
 * reports) work with: built once per circuit by its shared state (shared.ts), so that the helpers
 * reach that state without it being public.
 */
export interface CircuitCore {
  readonly circuit: RedisCircuit;
  readonly host: CircuitHost;
  /** The fleet's state as last learned. */
  readonly fleet: FleetState;
  /** Consecutive failures of this process's calls. */
  streak: number;
  /** A call was let through: it is in flight until released. */
  admitted(): void;
  /** The circuit decides again, without asking Redis for a permit. */
  decideWithoutAsking(): Admission | Promise<Admission>;
  /**
   * A caller Redis gave no trial permit in time: refused, as half-open callers without a permit
   * are, or admitted by the fallback once the circuit runs on per-process state.
   */
  withoutPermit(): Admission;
  /** The fast path may have opened or closed. */
  refresh(): void;
  /** Runs the circuit's scripts, and applies their replies. */
  readonly link: ScriptLink;
  /** Reports one failure to the fleet (and to the quorum). */
  reportFailure(): Promise<void>;
  /** Where the circuit's decisions come from now. */
  readonly mode: Mode;
  /** Switches the circuit to per-process state (Redis did not answer in time); the fallback. */
  fallBack(): LocalCircuit;
}

/**
 * REPORT's arguments for the state `fleet`, reporting nothing yet: callers set what they report.
 * `failMax` counts only with a ballot (a `voter`): the fleet's streak.
 */
export function report(fleet: FleetState, failMax: number): Record<string, Arg> {
  return {
    epoch: fleet.epoch,
    generation: fleet.generation,
    successes: 0,
    failures: 0,
    slow: 0,
    reason: '',
    period: 0,
    voter: '',
    tell: '',
    failMax,
  };
}
