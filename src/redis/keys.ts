import { createHash } from 'node:crypto';
import { CIRCUIT_KEYS } from './scripts/index.js';

/**
 * The keys of one circuit: state hash, trial leases, failure-rate window, quorum votes, in the
 * order the circuit scripts declare them (prelude.lua's `--! keys`), each named as declared.
 */
export type CircuitKeys = readonly [state: string, leases: string, window: string, votes: string];

/**
 * Keys of one circuit. They share one hash tag, a hash of the circuit key, so that a script may
 * touch all of them in Redis Cluster and no key (braces, colons, 8 KB of unicode) can reach into the
 * key space. 64 bits of SHA-256 make a collision unlikely in any fleet; the state hash also holds
 * the full key, and a script that finds another key there treats the data as malformed.
 */
export function circuitKeys(prefix: string, key: string): CircuitKeys {
  const tag = createHash('sha256').update(key).digest('hex').slice(0, 16);
  const base = `${prefix}:{${tag}}:`;
  return CIRCUIT_KEYS.map((name) => base + name) as unknown as CircuitKeys;
}

/**
 * The pub/sub channel of transitions. Channels ignore ioredis' `keyPrefix`, so it is part of the
 * name: two applications with different key prefixes must not hear each other's circuits.
 */
export function channelName(keyPrefix: string, prefix: string): string {
  return `${keyPrefix}${prefix}:transitions`;
}
