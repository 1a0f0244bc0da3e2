/**
 * What the dashboard page says about a circuit: labels, ages, countdowns, confirmations. Sent to
 * the browser as the source text of {@link pageTexts} (see page.ts), so, like the page script, it
 * uses nothing declared elsewhere at run time; only types cross between the two.
 */

export type Mode = 'closed' | 'open' | 'half-open' | 'forced-open' | 'disabled';

/** A circuit as the page receives it (the feed's `CircuitView`). */
export interface View {
  key: string;
  mode: Mode;
  forced: string | null;
  window: { calls: number; failures: number };
  trialsInFlight: number;
  changedAt: number;
  retryAfter: number | null;
  generation: number;
  /** Processes that opened the circuit for themselves alone (see `quorum`); absent: 0. */
  votes?: number;
  /** The fleet runs the circuit in shadow mode (refuses nothing); absent: false. */
  shadow?: boolean;
}

/** A circuit and when it was received, to count down and age it without asking again. */
export interface Entry {
  view: View;
  receivedAt: number;
  serverNow: number;
}

/** The commands the page's buttons send. */
export type Command = 'force-open' | 'close' | 'disable' | 'clear-forced' | 'shadow' | 'unshadow';

/** The page's wording, built in the browser. */
export function pageTexts() {
  const LABELS: Record<Mode, string> = {
    closed: 'closed',
    open: 'open',
    'half-open': 'half-open',
    'forced-open': 'forced open',
    disabled: 'disabled',
  };

  function seconds(ms: number): string {
    if (ms < 1000) return 'now';
    const s = Math.ceil(ms / 1000);
    if (s < 120) return `${s} s`;
    if (s < 7200) return `${Math.round(s / 60)} min`;
    return `${Math.round(s / 3600)} h`;
  }

  function age(ms: number): string {
    return ms < 1000 ? 'just now' : `${seconds(ms)} ago`;
  }

  function retryText(entry: Entry, elapsed: number): string {
    const view = entry.view;
    switch (view.mode) {
      case 'open':
        return view.retryAfter === null ? 'until cleared' : seconds(view.retryAfter - elapsed);
      case 'forced-open':
        return 'until cleared';
      case 'half-open':
        return view.trialsInFlight > 0 ? `trial running (${view.trialsInFlight})` : 'now';
      case 'closed':
      case 'disabled':
        return '';
    }
  }

  function confirmText(command: Command, key: string): string {
    switch (command) {
      case 'force-open':
        return `Force "${key}" open for the whole fleet?\nEvery process rejects its calls until the circuit is cleared.`;
      case 'close':
        return `Close "${key}" for the whole fleet?\nEvery process sends calls to it again.`;
      case 'disable':
        return `Disable the breaker on "${key}" for the whole fleet?\nEvery process lets every call through, uncounted, until the circuit is cleared.`;
      case 'clear-forced':
        return `Clear the forced mode of "${key}" for the whole fleet?\nThe circuit resumes closed with fresh counters.`;
      case 'shadow':
        return `Run "${key}" in shadow mode for the whole fleet?\nEvery process lets through the calls the circuit would refuse, and tells of each, until unshadowed.`;
      case 'unshadow':
        return `End shadow mode of "${key}" for the whole fleet?\nEvery process refuses again the calls the circuit refuses.`;
    }
  }

  return { LABELS, age, retryText, confirmText };
}
