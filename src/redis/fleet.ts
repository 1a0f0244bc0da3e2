import {
  TRANSITION_REASONS,
  type CircuitState,
  type ForcedMode,
  type TransitionReason,
} from '../core/types.js';
import type { InitialState, Policy } from '../stores/store.js';
import { fieldsOf, SCRIPTS } from './scripts/index.js';

/** A circuit's state as Redis holds it, as one script reply or pub/sub message reported it. */
export interface FleetState {
  /** Creation time (µs, Redis clock) of the stored state; '' when Redis holds nothing. */
  readonly epoch: string;
  /**
   * Orders what a process learns: the epoch, or for "nothing stored" the time it was read. A
   * state created after Redis lost the old one (restart, expiry) is newer whatever its generation.
   */
  readonly stamp: number;
  /** Incremented by every transition; 0 when nothing is stored. */
  readonly generation: number;
  readonly state: CircuitState;
  readonly forced: ForcedMode | null;
  /** Milliseconds an open circuit has left, measured by Redis when it answered. */
  readonly remaining: number;
  /** Epoch milliseconds (Redis clock) of the last transition. */
  readonly changedAt: number;
  /** Live half-open trial leases across the fleet. */
  readonly trialsInFlight: number;
  /** Calls and failures in the fleet's failure-rate window. */
  readonly calls: number;
  readonly failures: number;
  /** Calls and slow calls in the fleet's slow-call window (zeros when `slowCallRate` is off). */
  readonly slowCalls: number;
  readonly slow: number;
  /** The fleet runs the circuit in shadow mode: it would refuse, but lets calls through. */
  readonly shadow: boolean;
  /** Processes whose own streak reached failMax and that vote to open for the fleet (closed only). */
  readonly votes: number;
  /** Processes that agree: they voted, or their latest call failed (closed only). */
  readonly agreeing: number;
}

/** A transition the answering script made (and published). */
export interface ScriptEvent {
  readonly from: CircuitState;
  readonly fromForced: ForcedMode | null;
  readonly reason: TransitionReason;
}

/** One script's answer. */
export interface ScriptReply {
  readonly fleet: FleetState;
  /** Data under the circuit's keys was not ours; it was dropped. */
  readonly malformed: boolean;
  /** This script wrote the circuit's state where there was none. */
  readonly created: boolean;
  readonly event: ScriptEvent | null;
  /** Milliseconds until a trial permit may free up, when none was left. */
  readonly hold: number;
  /** Trial leases granted to the caller. */
  readonly leases: readonly string[];
  /** When the script ran (ms, Redis clock). */
  readonly ranAt: number;
}

/** True when `next` is later news than `current`. */
export function isNewer(next: FleetState, current: FleetState): boolean {
  return (
    next.stamp > current.stamp ||
    (next.stamp === current.stamp && next.generation > current.generation)
  );
}

const STATES = new Set<unknown>(['closed', 'open', 'half-open']);
const REASONS = new Set<unknown>(TRANSITION_REASONS);

/** Parses a circuit script's reply (prelude.lua's `--! reply`); throws on anything else (a bug). */
export function parseReply(raw: unknown): ScriptReply {
  const { named: f, rest } = fieldsOf(SCRIPTS.infuseRead, raw);
  const epochText = text(f.epoch);
  const fleet: FleetState = {
    epoch: epochText,
    stamp: Number(epochText === '' ? text(f.at) : epochText),
    generation: int(f.generation),
    state: circuitState(f.state),
    forced: forcedMode(f.forced),
    remaining: int(f.remaining),
    changedAt: int(f.changedAt),
    trialsInFlight: int(f.trialsInFlight),
    calls: int(f.windowCalls),
    failures: int(f.windowFailures),
    slowCalls: int(f.slowWindowCalls),
    slow: int(f.windowSlow),
    shadow: text(f.shadow) === '1',
    votes: int(f.votes),
    agreeing: int(f.agreeing),
  };
  const event =
    f.from === '' || f.from === null
      ? null
      : {
          from: circuitState(f.from),
          fromForced: forcedMode(f.fromForced),
          reason: transitionReason(f.reason),
        };
  const flags = int(f.flags);
  return {
    fleet,
    malformed: (flags & 1) !== 0,
    created: (flags & 2) !== 0,
    event,
    hold: int(f.hold),
    leases: rest.map(text),
    ranAt: Math.floor(Number(text(f.at)) / 1_000),
  };
}

/** A transition published by a script: the circuit's state after it, and what it was before. */
export interface FleetMessage {
  readonly key: string;
  readonly fleet: FleetState;
  /** Null when the message names no valid previous state or reason (it still carries news). */
  readonly event: ScriptEvent | null;
}

/** A transition published by a script, or null when the message is not one of ours. */
export function parseMessage(message: string): FleetMessage | null {
  let data: unknown;
  try {
    data = JSON.parse(message);
  } catch {
    return null;
  }
  if (typeof data !== 'object' || data === null) return null;
  const m = data as Record<string, unknown>;
  if (
    typeof m.k !== 'string' ||
    typeof m.e !== 'string' ||
    !/^\d*$/.test(m.e) || // '' for a circuit Redis holds no state for (a vote on it)
    typeof m.g !== 'number' ||
    !STATES.has(m.st) ||
    typeof m.rm !== 'number' ||
    typeof m.ca !== 'number'
  ) {
    return null;
  }
  return {
    key: m.k,
    event:
      STATES.has(m.f) && REASONS.has(m.r)
        ? {
            from: m.f as CircuitState,
            fromForced: forcedMode(m.ff),
            reason: m.r as TransitionReason,
          }
        : null,
    fleet: {
      epoch: m.e,
      stamp: Number(m.e || '0'),
      generation: m.g,
      state: m.st as CircuitState,
      forced: m.fo === 'forced-open' || m.fo === 'disabled' ? m.fo : null,
      remaining: m.rm,
      changedAt: m.ca,
      trialsInFlight: 0,
      calls: 0,
      failures: 0,
      slowCalls: 0,
      slow: 0,
      shadow: false,
      votes: 0,
      agreeing: 0,
    },
  };
}

/** A reply field as text (a script's nil is ''); throws on anything else. */
export function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (value === null) return '';
  throw new Error(`unexpected script reply field ${typeof value}`);
}

/** A reply field as a finite number; throws on anything else. */
export function int(value: unknown): number {
  const number = typeof value === 'number' ? value : Number(text(value));
  if (!Number.isFinite(number)) throw new Error('unexpected script reply number');
  return number;
}

function circuitState(value: unknown): CircuitState {
  if (!STATES.has(value)) throw new Error(`unexpected circuit state in script reply`);
  return value as CircuitState;
}

function forcedMode(value: unknown): ForcedMode | null {
  return value === 'forced-open' || value === 'disabled' ? value : null;
}

function transitionReason(value: unknown): TransitionReason {
  if (!REASONS.has(value)) throw new Error(`unexpected transition reason in script reply`);
  return value as TransitionReason;
}

/** Before the first read, a circuit shows what `initialState` would make of it. */
export function guess(policy: Policy): FleetState {
  const initial: InitialState = policy.initialState ?? 'closed';
  const forced = initial === 'forced-open' || initial === 'disabled' ? initial : null;
  const state = forced === null ? (initial as CircuitState) : 'closed';
  return {
    epoch: '',
    stamp: 0,
    generation: 0,
    state,
    forced,
    remaining: state === 'open' ? policy.resetTimeout : 0,
    changedAt: Date.now(),
    trialsInFlight: 0,
    calls: 0,
    failures: 0,
    slowCalls: 0,
    slow: 0,
    shadow: false,
    votes: 0,
    agreeing: 0,
  };
}

/** READ's seed (what it writes where Redis holds nothing). */
export interface Seed {
  readonly seedState: string;
  readonly seedForced: string;
  readonly seedRemaining: number;
}

const NO_SEED: Seed = { seedState: '', seedForced: '', seedRemaining: 0 };

/** READ arguments that write `initialState` where Redis holds nothing. */
export function seed(policy: Policy): Seed {
  const initial = policy.initialState;
  if (initial === null || initial === 'closed') return NO_SEED;
  if (initial === 'forced-open' || initial === 'disabled') {
    return { seedState: 'closed', seedForced: initial, seedRemaining: 0 };
  }
  return { seedState: initial, seedForced: '', seedRemaining: policy.resetTimeout };
}

/** READ arguments that write back an open or forced state Redis lost (restart, flush). */
export function reseed(fleet: FleetState, remaining: number): Seed {
  if (fleet.forced !== null)
    return { seedState: fleet.state, seedForced: fleet.forced, seedRemaining: 0 };
  if (fleet.state === 'closed') return NO_SEED;
  // A half-open attempt cannot be restored (its leases are gone): open with no time left is the
  // same thing, since the next call turns it half-open.
  return {
    seedState: 'open',
    seedForced: '',
    seedRemaining: fleet.state === 'open' ? remaining : 0,
  };
}
