/**
 * The dashboard page's script. It is written here, typed against the DOM and linted like the
 * rest, and sent to the browser as the source text of this one function (see page.ts), so it must
 * stay self-contained: it may use browser globals and its own locals, nothing imported or
 * declared elsewhere in this module.
 */
export function dashboardClient(): void {
  type Mode = 'closed' | 'open' | 'half-open' | 'forced-open' | 'disabled';
  interface View {
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
  }
  /** A circuit and when it was received, to count down and age it without asking again. */
  interface Entry {
    view: View;
    receivedAt: number;
    serverNow: number;
  }
  interface Row {
    tr: HTMLTableRowElement;
    state: HTMLElement;
    rate: HTMLElement;
    retry: HTMLElement;
    changed: HTMLElement;
    buttons: HTMLButtonElement[];
  }
  type Command = 'force-open' | 'close' | 'clear-forced';

  const TOKEN_KEY = 'infuse-breaker-dashboard-token';
  const LABELS: Record<Mode, string> = {
    closed: 'closed',
    open: 'open',
    'half-open': 'half-open',
    'forced-open': 'forced open',
    disabled: 'disabled',
  };
  const ACTIONS: { command: Command; label: string }[] = [
    { command: 'force-open', label: 'Open' },
    { command: 'close', label: 'Close' },
    { command: 'clear-forced', label: 'Clear' },
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
  let connected = false;
  let redisDown = '';

  function showNotice(text: string, kind: 'info' | 'error'): void {
    notice.textContent = text;
    notice.className = `notice ${kind}`;
    notice.hidden = text === '';
  }

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
      case 'clear-forced':
        return `Clear the forced mode of "${key}" for the whole fleet?\nThe circuit resumes closed with fresh counters.`;
    }
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
        after?: { mode: Mode } | null;
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
      showNotice(`${key}: ${before} → ${after}`, 'info');
    } catch (error) {
      showNotice(`${key}: ${String(error)}`, 'error');
    }
  }

  function rowFor(key: string): Row {
    const known = rows.get(key);
    if (known !== undefined) return known;
    const tr = document.createElement('tr');
    tr.dataset.key = key;
    const cell = (className: string): HTMLTableCellElement => {
      const td = document.createElement('td');
      td.className = className;
      tr.append(td);
      return td;
    };
    // textContent only: keys come from the fleet's traffic and are never markup.
    cell('key').textContent = key;
    const state = document.createElement('span');
    cell('state').append(state);
    const row: Row = {
      tr,
      state,
      rate: cell('rate'),
      retry: cell('retry'),
      changed: cell('changed'),
      buttons: [],
    };
    const actions = cell('actions');
    for (const action of ACTIONS) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = action.label;
      button.className = `action ${action.command}`;
      button.setAttribute('aria-label', `${action.label} ${key}`);
      button.addEventListener('click', () => void steer(key, action.command));
      actions.append(button);
      row.buttons.push(button);
    }
    rows.set(key, row);
    return row;
  }

  function render(): void {
    const now = performance.now();
    const needle = filter.value.trim().toLowerCase();
    const keys = [...circuits.keys()].sort();
    const counts: Record<Mode, number> = {
      closed: 0,
      open: 0,
      'half-open': 0,
      'forced-open': 0,
      disabled: 0,
    };
    for (const key of rows.keys()) {
      if (!circuits.has(key)) {
        rows.get(key)?.tr.remove();
        rows.delete(key);
      }
    }
    let previous: HTMLTableRowElement | null = null;
    let shown = 0;
    for (const key of keys) {
      const entry = circuits.get(key);
      if (entry === undefined) continue;
      const view = entry.view;
      counts[view.mode]++;
      const row = rowFor(key);
      const elapsed = now - entry.receivedAt;
      row.tr.hidden = needle !== '' && !key.toLowerCase().includes(needle);
      if (!row.tr.hidden) shown++;
      row.tr.className = `mode-${view.mode}`;
      const votes = view.votes ?? 0;
      row.state.textContent =
        votes > 0
          ? `${LABELS[view.mode]} · open in ${votes} process${votes === 1 ? '' : 'es'}`
          : LABELS[view.mode];
      row.state.className = `badge ${view.mode}`;
      const { calls, failures } = view.window;
      row.rate.textContent =
        calls > 0 ? `${Math.round((failures / calls) * 100)}% (${failures}/${calls})` : '—';
      row.retry.textContent = retryText(entry, elapsed);
      row.changed.textContent = age(entry.serverNow - view.changedAt + elapsed);
      row.changed.title = new Date(view.changedAt).toISOString();
      for (const button of row.buttons) {
        const clear = button.classList.contains('clear-forced');
        button.disabled = token === null || (clear && view.forced === null);
      }
      // Rows stay in key order; a row is only moved when it is out of place.
      const expected: ChildNode | null =
        previous === null ? rowsBody.firstChild : previous.nextSibling;
      if (expected !== row.tr) rowsBody.insertBefore(row.tr, expected);
      previous = row.tr;
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
  }

  function entryOf(view: View, serverNow: number): Entry {
    return { view, serverNow, receivedAt: performance.now() };
  }

  const source = new EventSource('/api/events');
  source.addEventListener('open', () => {
    connected = true;
    render();
  });
  source.addEventListener('error', () => {
    connected = false;
    render();
  });
  source.addEventListener('circuits', (event) => {
    const message = JSON.parse((event as MessageEvent<string>).data) as {
      now: number;
      circuits: View[];
    };
    circuits.clear();
    for (const view of message.circuits) circuits.set(view.key, entryOf(view, message.now));
    render();
  });
  source.addEventListener('circuit', (event) => {
    const message = JSON.parse((event as MessageEvent<string>).data) as {
      now: number;
      key: string;
      circuit: View | null;
    };
    if (message.circuit === null) circuits.delete(message.key);
    else circuits.set(message.key, entryOf(message.circuit, message.now));
    render();
  });
  source.addEventListener('status', (event) => {
    const message = JSON.parse((event as MessageEvent<string>).data) as {
      redis: string;
      message: string;
    };
    redisDown = message.redis === 'ok' ? '' : message.message || 'no answer';
    render();
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
