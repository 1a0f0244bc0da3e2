import type { sharedStream } from './shared-stream.js';
import type { Command, Entry, Mode, pageTexts, View } from './page-texts.js';

interface Row {
  tr: HTMLTableRowElement;
  state: HTMLElement;
  rate: HTMLElement;
  retry: HTMLElement;
  changed: HTMLElement;
  buttons: HTMLButtonElement[];
  /** What the row shows now, so that only what changed is written. */
  shown: Record<string, string>;
}

/** What a tab passes to a tab that opens: its circuits, with their ages. */
interface Snapshot {
  entries: { view: View; serverNow: number; age: number }[];
  redisDown: string;
}

/**
 * The dashboard page's script. It is written here, typed against the DOM and linted like the
 * rest, and sent to the browser as the source text of this one function (see page.ts), so it must
 * stay self-contained: it may use browser globals, its own locals and its arguments (the source
 * of {@link sharedStream} and what {@link pageTexts} returns, passed in by the page), nothing
 * imported or declared elsewhere but types.
 *
 * Rendering writes to the DOM only what changed (a table of 1,000 circuits is redrawn every second
 * for its countdowns), and reports its duration as the `infuse-breaker render` performance measure.
 */
export function dashboardClient(
  connect: typeof sharedStream,
  texts: ReturnType<typeof pageTexts>,
): void {
  const { LABELS, age, retryText, confirmText } = texts;
  const TOKEN_KEY = 'infuse-breaker-dashboard-token';
  const ACTIONS: { command: Command; label: string }[] = [
    { command: 'force-open', label: 'Open' },
    { command: 'close', label: 'Close' },
    { command: 'disable', label: 'Disable' },
    { command: 'clear-forced', label: 'Clear' },
    // Shadow mode is switched on and off with one button (see render).
    { command: 'shadow', label: 'Shadow' },
  ];

  const byId = (id: string): HTMLElement => {
    const element = document.getElementById(id);
    if (element === null) throw new Error(`page element #${id} is missing`);
    return element;
  };
  const rowsBody = byId('rows') as HTMLTableSectionElement;
  const empty = byId('empty');
  const live = byId('live');
  const summary = byId('summary');
  const notice = byId('notice');
  const filter = byId('filter') as HTMLInputElement;
  const tokenForm = byId('token-form') as HTMLFormElement;
  const tokenInput = byId('token-input') as HTMLInputElement;

  // The token arrives in the link's fragment, which browsers never send to a server: it stays out
  // of access logs and Referer headers. It is kept for this tab only and taken out of the address
  // bar, so that a screenshot or a shared screen does not show it.
  const fragment = new URLSearchParams(location.hash.slice(1));
  const linked = fragment.get('token');
  if (linked !== null && linked !== '') {
    sessionStorage.setItem(TOKEN_KEY, linked);
    history.replaceState(null, '', location.pathname + location.search);
  }
  let token = sessionStorage.getItem(TOKEN_KEY);

  const circuits = new Map<string, Entry>();
  const rows = new Map<string, Row>();
  /** The keys in display order; rebuilt only when circuits come or go. */
  let order: string[] = [];
  let orderStale = true;
  let connected = false;
  let redisDown = '';

  function showNotice(text: string, kind: 'info' | 'error'): void {
    notice.textContent = text;
    notice.className = `notice ${kind}`;
    notice.hidden = text === '';
  }

  async function steer(key: string, command: Command): Promise<void> {
    if (token === null) {
      showNotice('Steering needs the token printed when the dashboard started.', 'error');
      return;
    }
    if (!confirm(confirmText(command, key))) return;
    try {
      const response = await fetch('/api/command', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
        body: JSON.stringify({ key, command }),
      });
      const body = (await response.json()) as {
        error?: string;
        before?: { mode: Mode } | null;
        after?: { mode: Mode; shadow?: boolean } | null;
      };
      if (response.status === 401) {
        token = null;
        sessionStorage.removeItem(TOKEN_KEY);
        render();
      }
      if (!response.ok) {
        showNotice(`${key}: ${body.error ?? `HTTP ${response.status}`}`, 'error');
        return;
      }
      const before = body.before ? LABELS[body.before.mode] : 'unknown';
      const after = body.after ? LABELS[body.after.mode] : 'unknown';
      if (command === 'shadow' || command === 'unshadow') {
        const on = body.after?.shadow === true ? 'on' : 'off';
        showNotice(`${key}: shadow mode ${on} (${after})`, 'info');
      } else showNotice(`${key}: ${before} → ${after}`, 'info');
    } catch (error) {
      showNotice(`${key}: ${String(error)}`, 'error');
    }
  }

  // Every row is a copy of this one (a clone is much cheaper than building 14 elements), and one
  // listener on the table serves every button.
  const template = document.createElement('tr');
  for (const name of ['key', 'state', 'rate', 'retry', 'changed', 'actions']) {
    const td = document.createElement('td');
    td.className = name;
    template.append(td);
  }
  template.children[1]?.append(document.createElement('span'));
  for (const action of ACTIONS) {
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = action.label;
    button.className = `action ${action.command}`;
    button.dataset.command = action.command;
    template.lastElementChild?.append(button);
  }
  rowsBody.addEventListener('click', (event) => {
    const button = (event.target as Element | null)?.closest('button.action');
    const key = button?.closest('tr')?.dataset.key;
    const command = (button as HTMLButtonElement | null | undefined)?.dataset.command;
    if (key !== undefined && command !== undefined) void steer(key, command as Command);
  });

  function rowFor(key: string): Row {
    const known = rows.get(key);
    if (known !== undefined) return known;
    const tr = template.cloneNode(true) as HTMLTableRowElement;
    tr.dataset.key = key;
    const [keyCell, stateCell, rate, retry, changed, actions] = Array.from(
      tr.children,
    ) as HTMLElement[];
    // textContent only: keys come from the fleet's traffic and are never markup.
    (keyCell as HTMLElement).textContent = key;
    const buttons = Array.from((actions as HTMLElement).children) as HTMLButtonElement[];
    for (const button of buttons) {
      button.setAttribute('aria-label', `${button.textContent} ${key}`);
    }
    const row: Row = {
      tr,
      state: (stateCell as HTMLElement).firstElementChild as HTMLElement,
      rate: rate as HTMLElement,
      retry: retry as HTMLElement,
      changed: changed as HTMLElement,
      buttons,
      shown: {},
    };
    rows.set(key, row);
    return row;
  }

  /** Sets a row's text (or class, or title) only when it differs from what it shows. */
  function put(row: Row, slot: string, value: string, write: (value: string) => void): void {
    if (row.shown[slot] === value) return;
    row.shown[slot] = value;
    write(value);
  }

  function render(): void {
    const started = performance.now();
    const now = started;
    const needle = filter.value.trim().toLowerCase();
    const counts: Record<Mode, number> = {
      closed: 0,
      open: 0,
      'half-open': 0,
      'forced-open': 0,
      disabled: 0,
    };
    if (orderStale) {
      for (const [key, row] of rows) {
        if (!circuits.has(key)) {
          row.tr.remove();
          rows.delete(key);
        }
      }
      order = [...circuits.keys()].sort();
    }
    // New rows are built off the page and added in one go.
    const added = document.createDocumentFragment();
    let shown = 0;
    for (const key of order) {
      const entry = circuits.get(key);
      if (entry === undefined) continue;
      const view = entry.view;
      counts[view.mode]++;
      const fresh = !rows.has(key);
      const row = rowFor(key);
      if (fresh) added.append(row.tr);
      const elapsed = now - entry.receivedAt;
      const hidden = needle !== '' && !key.toLowerCase().includes(needle);
      if (row.tr.hidden !== hidden) row.tr.hidden = hidden;
      if (!hidden) shown++;
      const votes = view.votes ?? 0;
      const shadow = view.shadow === true;
      put(row, 'mode', `${view.mode} ${votes} ${shadow}`, () => {
        row.tr.className = `mode-${view.mode}`;
        const parts = [LABELS[view.mode]];
        if (votes > 0) parts.push(`open in ${votes} process${votes === 1 ? '' : 'es'}`);
        if (shadow) parts.push('shadow');
        row.state.textContent = parts.join(' · ');
        row.state.className = `badge ${view.mode}`;
      });
      const { calls, failures } = view.window;
      put(
        row,
        'rate',
        calls > 0 ? `${Math.round((failures / calls) * 100)}% (${failures}/${calls})` : '—',
        (text) => (row.rate.textContent = text),
      );
      put(row, 'retry', retryText(entry, elapsed), (text) => (row.retry.textContent = text));
      put(
        row,
        'changed',
        age(entry.serverNow - view.changedAt + elapsed),
        (text) => (row.changed.textContent = text),
      );
      put(row, 'title', String(view.changedAt), (at) => {
        row.changed.title = new Date(Number(at)).toISOString();
      });
      put(row, 'buttons', `${token === null} ${view.forced} ${shadow}`, () => {
        for (const button of row.buttons) {
          const clear = button.classList.contains('clear-forced');
          button.disabled = token === null || (clear && view.forced === null);
          if (button.classList.contains('shadow')) {
            const label = shadow ? 'Unshadow' : 'Shadow';
            button.textContent = label;
            button.dataset.command = shadow ? 'unshadow' : 'shadow';
            button.setAttribute('aria-label', `${label} ${key}`);
          }
        }
      });
    }
    if (orderStale) {
      rowsBody.append(added);
      // Rows stay in key order; a row is only moved when it is out of place.
      let previous: HTMLTableRowElement | null = null;
      for (const key of order) {
        const tr = rows.get(key)?.tr;
        if (tr === undefined) continue;
        const expected: ChildNode | null =
          previous === null ? rowsBody.firstChild : previous.nextSibling;
        if (expected !== tr) rowsBody.insertBefore(tr, expected);
        previous = tr;
      }
      orderStale = false;
    }
    empty.hidden = shown > 0;
    empty.textContent =
      circuits.size === 0
        ? 'No circuit in Redis under this prefix yet.'
        : 'No circuit matches the filter.';
    summary.textContent =
      `${circuits.size} circuits · ${counts.open} open · ${counts['half-open']} half-open · ` +
      `${counts['forced-open']} forced open · ${counts.disabled} disabled · ${counts.closed} closed`;
    live.textContent = !connected
      ? 'reconnecting…'
      : redisDown !== ''
        ? 'Redis unreachable'
        : 'live';
    live.className = `live ${!connected || redisDown !== '' ? 'down' : 'up'}`;
    live.title = redisDown;
    document.body.classList.toggle('stale', !connected || redisDown !== '');
    tokenForm.hidden = token !== null;
    performance.measure('infuse-breaker render', { start: started, detail: circuits.size });
  }

  function entryOf(view: View, serverNow: number): Entry {
    return { view, serverNow, receivedAt: performance.now() };
  }

  function setCircuit(key: string, entry: Entry | null): void {
    if (entry === null) {
      orderStale ||= circuits.delete(key);
      return;
    }
    if (!circuits.has(key)) orderStale = true;
    circuits.set(key, entry);
  }

  connect('/api/events', {
    onConnection(value) {
      connected = value;
      render();
    },
    onEvent(name, data) {
      if (name === 'circuits') {
        const message = JSON.parse(data) as { now: number; circuits: View[] };
        circuits.clear();
        orderStale = true;
        for (const view of message.circuits) circuits.set(view.key, entryOf(view, message.now));
      } else if (name === 'circuit') {
        const message = JSON.parse(data) as { now: number; key: string; circuit: View | null };
        setCircuit(
          message.key,
          message.circuit === null ? null : entryOf(message.circuit, message.now),
        );
      } else if (name === 'status') {
        const message = JSON.parse(data) as { redis: string; message: string };
        redisDown = message.redis === 'ok' ? '' : message.message || 'no answer';
      }
      render();
    },
    snapshot(): Snapshot {
      const now = performance.now();
      return {
        entries: [...circuits.values()].map(({ view, serverNow, receivedAt }) => ({
          view,
          serverNow,
          age: now - receivedAt,
        })),
        redisDown,
      };
    },
    restore(value) {
      const snapshot = value as Snapshot;
      const now = performance.now();
      circuits.clear();
      orderStale = true;
      for (const { view, serverNow, age } of snapshot.entries) {
        circuits.set(view.key, { view, serverNow, receivedAt: now - age });
      }
      redisDown = snapshot.redisDown;
      render();
    },
  });

  filter.addEventListener('input', render);
  tokenForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = tokenInput.value.trim();
    if (value === '') return;
    token = value;
    sessionStorage.setItem(TOKEN_KEY, value);
    tokenInput.value = '';
    showNotice('', 'info');
    render();
  });
  setInterval(render, 1000);
  render();
}
