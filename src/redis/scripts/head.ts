/**
 * The arguments every circuit script takes first (prelude.lua's `--! argv`): the circuit, where
 * to publish, and the policy, so that Redis decides with the caller's policy.
 */
import type { Policy } from '../../stores/store.js';
import type { Arg } from './declare.js';

/**
 * The longest a manual `open` (RedisAdmin's `resetTimeout`) may last. Every reader accepts an
 * open period up to its own `resetTimeout` plus this; anything longer is malformed.
 */
export const MANUAL_OPEN_MAX = 3_600_000;

/**
 * How long (ms) a vote waits for contrary evidence before it may open the fleet alone (see
 * quorumReached in prelude/quorum.lua, where it is the constant GRACE); the voter asks again
 * once it has passed.
 */
export const QUORUM_GRACE = 1_000;

/** The parts of a store's or admin's settings that go into every circuit script's head. */
export interface ScriptSettings {
  readonly channel: string;
  readonly ttl: number;
  readonly trialLease: number;
}

/**
 * The head arguments of a circuit script, by name. Keys live at least twice as long as anything
 * the policy waits for, so that no key expires in the middle of an episode.
 */
export function scriptHead(
  key: string,
  policy: Policy,
  settings: ScriptSettings,
): Record<string, Arg> {
  const rate = policy.failureRate;
  const slow = policy.slowCallRate ?? null;
  const ttl = Math.max(
    settings.ttl,
    2 * policy.resetTimeout,
    2 * (rate?.window ?? 0),
    2 * (slow?.window ?? 0),
    2 * settings.trialLease,
  );
  return {
    key,
    channel: settings.channel,
    ttl,
    resetTimeout: policy.resetTimeout,
    halfOpenMaxCalls: policy.halfOpenMaxCalls,
    threshold: rate?.threshold ?? 0,
    minimumCalls: rate?.minimumCalls ?? 0,
    window: rate?.window ?? 0,
    // The longest open period the policy allows: a Retry-After, a manual open.
    maxOpen: Math.max(policy.resetTimeout, MANUAL_OPEN_MAX),
    quorum: policy.quorum ?? 1,
    slowThreshold: slow?.threshold ?? 0,
    slowMinimumCalls: slow?.minimumCalls ?? 0,
    slowWindow: slow?.window ?? 0,
  };
}
