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
}

/** A circuit and when it was received, to count down and age it without asking again. */
export interface Entry {
  view: View;
  receivedAt: number;
  serverNow: number;
}

/** The commands the page's buttons send. */
export type Command = 'force-open' | 'close' | 'disable' | 'clear-forced';

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
    }
  }

  return { LABELS, age, retryText, confirmText };
}
