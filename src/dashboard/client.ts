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
 * Only the rows in view (and a few rows either side) are in the table: two spacers of the height
 * of the rows left out stand in for the others, every row having the same height (the table's
 * `data-row-height`), so that the page scrolls as if every row were there and a fleet of 1,000
 * circuits costs the browser's style, layout and paint of a screenful. A row keeps its elements
 * when it leaves the view and is brought up to date when it comes back. The table tells assistive
 * technology how many rows it has (`aria-rowcount`) and where each drawn one is (`aria-rowindex`);
 * the row that holds the focus stays in the table while the page scrolls away from it.
 *
 * Rendering reads the layout once, before it writes anything, writes to the DOM only what changed
 * (the rows in view are redrawn every second for their countdowns), and reports its duration as
 * the `infuse-breaker render` performance measure.
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
  const table = byId('circuits') as HTMLTableElement;
  const rowsBody = byId('rows') as HTMLTableSectionElement;
  const before = byId('before').querySelector('td') as HTMLTableCellElement;
  const after = byId('after').querySelector('td') as HTMLTableCellElement;
  const ROW_HEIGHT = Number(table.dataset.rowHeight);
  /**
   * The height rows have in this browser: the page's, unless what a row holds came out taller
   * (a minimum font size, a zoom of text only); then the spacers follow what the rows measure.
   */
  let rowHeight = ROW_HEIGHT;
  /** Rows drawn above and below the view, so that a scroll shows drawn rows at once. */
  const OVERSCAN = 6;
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
  /** The keys that pass the filter, in display order, and the filter they were picked with. */
  let matching: string[] = [];
  let matchedWith: string | null = null;
  /** The rows in the table now (the rest of `rows` wait, detached, to come back into view). */
  const drawn = new Set<string>();
  let connected = false;
  let redisDown = '';
  /** Renders so far, to clear their performance measures now and then. */
  let measured = 0;

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

  // Every row is a copy of this one (a clone is much cheaper than building its dozen elements), and one
  // listener on the table serves every button. The "Last hour" cell is filled by timeline.ts.
  const template = document.createElement('tr');
  for (const name of ['key', 'state', 'rate', 'retry', 'changed', 'history', 'actions']) {
    const td = document.createElement('td');
    td.className = name;
    template.append(td);
  }
  template.children[0]?.append(document.createElement('div'));
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
    const [keyCell, stateCell, rate, retry, changed, , actions] = Array.from(
      tr.children,
    ) as HTMLElement[];
    // textContent only: keys come from the fleet's traffic and are never markup. A key too long
    // for three lines of its column ends in an ellipsis; the title shows it whole.
    (keyCell?.firstElementChild as HTMLElement).textContent = key;
    (keyCell as HTMLElement).title = key;
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

  /** Sets an element's text only when it differs (an equal write would still cost a layout). */
  function setText(element: HTMLElement, text: string): void {
    if (element.textContent !== text) element.textContent = text;
  }

  /** Where the view is over the rows, read from the layout: what {@link drawRows} needs. */
  interface Viewport {
    /** From the top of the first row (drawn or not) to the top of the view, in pixels. */
    top: number;
    height: number;
  }

  function viewport(): Viewport {
    const row = rowsBody.firstElementChild?.getBoundingClientRect().height ?? 0;
    if (row > ROW_HEIGHT) rowHeight = row;
    return { top: -before.getBoundingClientRect().top, height: window.innerHeight };
  }

  function render(): void {
    const started = performance.now();
    // Read before anything is written, so that reading does not force a layout.
    const view = viewport();
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
          drawn.delete(key);
        }
      }
      order = [...circuits.keys()].sort();
    }
    if (orderStale || needle !== matchedWith) {
      matching = needle === '' ? order : order.filter((key) => key.toLowerCase().includes(needle));
      matchedWith = needle;
    }
    orderStale = false;
    for (const entry of circuits.values()) counts[entry.view.mode]++;
    drawRows(view, started);
    empty.hidden = matching.length > 0;
    setText(
      empty,
      circuits.size === 0
        ? 'No circuit in Redis under this prefix yet.'
        : 'No circuit matches the filter.',
    );
    setText(
      summary,
      `${circuits.size} circuits · ${counts.open} open · ${counts['half-open']} half-open · ` +
        `${counts['forced-open']} forced open · ${counts.disabled} disabled · ${counts.closed} closed`,
    );
    const down = !connected || redisDown !== '';
    setText(live, !connected ? 'reconnecting…' : redisDown !== '' ? 'Redis unreachable' : 'live');
    live.className = `live ${down ? 'down' : 'up'}`;
    live.title = redisDown;
    document.body.classList.toggle('stale', down);
    tokenForm.hidden = token !== null;
    performance.measure('infuse-breaker render', { start: started, detail: circuits.size });
    // The page's timeline keeps every measure for as long as the page is open (a day is 86,400
    // renders): it keeps at most the last 600.
    if (++measured % 600 === 0) performance.clearMeasures('infuse-breaker render');
  }

  /**
   * Puts in the table the rows of `matching` that `view` shows, and a few either side, each brought
   * up to date; takes out the others, and sizes the spacers to stand in for them.
   */
  function drawRows(view: Viewport, now: number): void {
    const total = matching.length;
    const inView = Math.ceil(view.height / rowHeight) + 2 * OVERSCAN;
    // Past the end (the list just got shorter), the last rows: the browser scrolls back to them.
    const first = Math.max(
      0,
      Math.min(Math.floor(view.top / rowHeight) - OVERSCAN, total - inView),
    );
    const placed = matching
      .slice(first, first + inView)
      .map((key, i) => ({ key, index: first + i }));
    // The row that holds the focus stays, next to the others, when the page scrolls away from it
    // (taking it out would drop the focus): the spacer on its side stands for one row less.
    let above = first;
    const focused = (document.activeElement?.closest('#rows tr') as HTMLElement | null)?.dataset
      .key;
    if (focused !== undefined && !placed.some(({ key }) => key === focused)) {
      const index = matching.indexOf(focused);
      if (index !== -1 && index < first) {
        placed.unshift({ key: focused, index });
        above--;
      } else if (index !== -1) placed.push({ key: focused, index });
    }
    const wanted = new Set(placed.map(({ key }) => key));
    for (const key of drawn) {
      if (!wanted.has(key)) {
        rows.get(key)?.tr.remove();
        drawn.delete(key);
      }
    }
    // Rows stay in key order; a row is only moved (or added) when it is out of place, so that a
    // row that stays keeps its focus.
    let previous: HTMLTableRowElement | null = null;
    for (const { key, index } of placed) {
      const entry = circuits.get(key);
      if (entry === undefined) continue;
      const row = rowFor(key);
      update(row, key, entry, index, now);
      const expected: ChildNode | null =
        previous === null ? rowsBody.firstChild : previous.nextSibling;
      if (expected !== row.tr) rowsBody.insertBefore(row.tr, expected);
      drawn.add(key);
      previous = row.tr;
    }
    const top = `${above * rowHeight}px`;
    const bottom = `${(total - above - placed.length) * rowHeight}px`;
    if (before.style.height !== top) before.style.height = top;
    if (after.style.height !== bottom) after.style.height = bottom;
    // The header row, and one per circuit that the filter lets through.
    const count = String(total + 1);
    if (table.getAttribute('aria-rowcount') !== count) table.setAttribute('aria-rowcount', count);
  }

  /** Writes what changed in what `row` shows; `index` is its place among the rows that match. */
  function update(row: Row, key: string, entry: Entry, index: number, now: number): void {
    const view = entry.view;
    const elapsed = now - entry.receivedAt;
    put(row, 'index', String(index + 2), (value) => row.tr.setAttribute('aria-rowindex', value));
    const votes = view.votes ?? 0;
    const shadow = view.shadow === true;
    put(row, 'mode', `${view.mode} ${votes} ${shadow}`, () => {
      row.tr.className = `mode-${view.mode}`;
      const parts = [LABELS[view.mode]];
      if (votes > 0) parts.push(`open in ${votes} process${votes === 1 ? '' : 'es'}`);
      if (shadow) parts.push('shadow');
      row.state.textContent = parts.join(' · ');
      // A state too long for its column is cut short; the title shows it whole.
      row.state.title = row.state.textContent;
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

  // A scroll or a resize draws the rows that come into view before the frame that shows them.
  let drawing = false;
  function drawSoon(): void {
    if (drawing) return;
    drawing = true;
    requestAnimationFrame(() => {
      drawing = false;
      drawRows(viewport(), performance.now());
    });
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
  window.addEventListener('scroll', drawSoon, { passive: true });
  window.addEventListener('resize', drawSoon);
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
