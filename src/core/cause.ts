import type { SettleInput } from './circuit.js';
import type { TransitionReason } from './types.js';

/** Openings with no failure of this process behind them: their refusals carry no cause. */
const NO_CAUSE = new Set<TransitionReason>(['manual', 'remote']);

/**
 * The `cause` of the refusals after a trip: what the call that tripped it threw, or an Error that
 * names the response status that counted (no response object is kept alive); nothing for a
 * circuit opened by hand or by another process.
 */
export function causeOf(reason: TransitionReason, input: SettleInput | undefined): unknown {
  if (NO_CAUSE.has(reason)) return undefined;
  if (reason === 'slowCallRate') {
    return new Error('infuse-breaker: too large a share of calls were slow (slowCallRate)');
  }
  if (input === undefined) return undefined;
  if ('error' in input) return input.error;
  if (input.status === undefined) return undefined;
  const call =
    input.method !== undefined && input.url !== undefined ? ` to ${input.method} ${input.url}` : '';
  const header = reason === 'retryAfter' ? ` with Retry-After: ${input.retryAfter}` : '';
  return new Error(`infuse-breaker: the response${call} had status ${input.status}${header}`);
}
