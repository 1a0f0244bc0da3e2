import {
  TRANSITION_REASONS,
  type CircuitState,
  type ForcedMode,
  type TransitionReason,
} from '../core/types.js';
import type { InitialState, Policy } from '../stores/store.js';

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

/** Reply fields before the granted leases (see the top of lua.ts). */
const REPLY_FIELDS = 20;

/** Parses a script reply; throws on anything the scripts do not write (a bug, not data). */
export function parseReply(raw: unknown): ScriptReply {
  if (!Array.isArray(raw) || raw.length < REPLY_FIELDS) throw new Error(`unexpected script reply`);
  const [
    flags,
    epoch,
    at,
    generation,
    state,
    forced,
    remaining,
    changedAt,
    trials,
    calls,
    failures,
  ] = raw as unknown[];
  const [from, fromForced, reason, hold, slow, shadow, votes, agreeing, slowCalls] = raw.slice(
    11,
    REPLY_FIELDS,
  ) as unknown[];
  const epochText = text(epoch);
  const fleet: FleetState = {
    epoch: epochText,
    stamp: Number(epochText === '' ? text(at) : epochText),
    generation: int(generation),
    state: circuitState(state),
    forced: forcedMode(forced),
    remaining: int(remaining),
    changedAt: int(changedAt),
    trialsInFlight: int(trials),
    calls: int(calls),
    failures: int(failures),
    slowCalls: int(slowCalls),
    slow: int(slow),
    shadow: text(shadow) === '1',
    votes: int(votes),
    agreeing: int(agreeing),
  };
  const leases = raw.slice(REPLY_FIELDS).map(text);
  const event =
    from === '' || from === null
      ? null
      : {
          from: circuitState(from),
          fromForced: forcedMode(fromForced),
          reason: transitionReason(reason),
        };
  const bits = int(flags);
  return {
    fleet,
    malformed: (bits & 1) !== 0,
    created: (bits & 2) !== 0,
    event,
    hold: int(hold),
    leases,
    ranAt: Math.floor(Number(text(at)) / 1_000),
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

/** READ arguments that write `initialState` where Redis holds nothing. */
export function seed(policy: Policy): (string | number)[] {
  const initial = policy.initialState;
  if (initial === null || initial === 'closed') return ['', '', 0];
  if (initial === 'forced-open' || initial === 'disabled') return ['closed', initial, 0];
  return [initial, '', policy.resetTimeout];
}

/** READ arguments that write back an open or forced state Redis lost (restart, flush). */
export function reseed(fleet: FleetState, remaining: number): (string | number)[] {
  if (fleet.forced !== null) return [fleet.state, fleet.forced, 0];
  if (fleet.state === 'closed') return ['', '', 0];
  // A half-open attempt cannot be restored (its leases are gone): open with no time left is the
  // same thing, since the next call turns it half-open.
  return ['open', '', fleet.state === 'open' ? remaining : 0];
}
