/**
 * The dashboard's "Last hour" column: per circuit, the fleet's states over the last hour as bands
 * (a process that opened the circuit for itself only is a tick), the failure rate per minute as a
 * sparkline (every process's calls and failures together), the reason and author of the last
 * change, and the processes that use it.
 *
 * Like client.ts, `insightClient` is sent to the browser as its source text, so it must stay
 * self-contained (browser globals and its own locals only). It polls `/api/insight` (one small
 * request every few seconds; the server reuses a read for all tabs) and fills the cell of each row
 * the live client has in the table (the rows in view: see client.ts), writing the DOM only when
 * what a row shows changed.
 */
export function insightClient(): void {
  interface Entry {
    id: string;
    at: number;
    key: string;
    from: string;
    to: string;
    reason: string;
    by: string;
    command: string | null;
    scope: string | null;
  }
  interface Use {
    pid: number;
    host: string;
    redis: string;
    mode: string;
    scope: string | null;
    calls: number;
    failures: number;
    refusals: number;
    minutes: [number, number, number][];
  }
  interface Doc {
    now: number;
    window: number;
    history: Entry[];
    processes: {
      pid: number;
      host: string;
      redis: string;
      circuits: (Omit<Use, 'pid' | 'host' | 'redis'> & { key: string })[];
    }[];
  }

  const WIDTH = 180;
  const HEIGHT = 26;
  // SVG's namespace, as the HTML parser gives it (the page names no address but its own).
  const holder = document.createElement('template');
  holder.innerHTML = '<svg></svg>';
  const SVG = (holder.content.firstChild as Element | null)?.namespaceURI ?? '';
  const POLL = 5_000;
  let doc: Doc | null = null;
  let receivedAt = 0;
  const entriesOf = new Map<string, Entry[]>();
  const usesOf = new Map<string, Use[]>();

  function group(next: Doc): void {
    entriesOf.clear();
    usesOf.clear();
    // Oldest first.
    for (const entry of [...next.history].reverse()) {
      const list = entriesOf.get(entry.key) ?? [];
      list.push(entry);
      entriesOf.set(entry.key, list);
    }
    for (const process of next.processes) {
      for (const circuit of process.circuits) {
        const list = usesOf.get(circuit.key) ?? [];
        list.push({ ...circuit, pid: process.pid, host: process.host, redis: process.redis });
        usesOf.set(circuit.key, list);
      }
    }
  }

  function svg(name: string, attributes: Record<string, string | number>): SVGElement {
    const element = document.createElementNS(SVG, name) as SVGElement;
    for (const [attribute, value] of Object.entries(attributes)) {
      element.setAttribute(attribute, String(value));
    }
    return element;
  }

  function drawTimeline(key: string, mode: string, now: number, window: number): SVGElement {
    const start = now - window;
    const x = (t: number): number => Math.max(0, Math.min(WIDTH, ((t - start) / window) * WIDTH));
    const chart = svg('svg', {
      class: 'timeline',
      width: WIDTH,
      height: HEIGHT,
      viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
      role: 'img',
    });
    const entries = entriesOf.get(key) ?? [];
    const fleet = entries.filter((e) => e.scope !== 'process');
    let state = fleet[0]?.from ?? mode;
    let from = start;
    const bands: [number, number, string][] = [];
    for (const entry of fleet) {
      if (entry.at > from) bands.push([from, entry.at, state]);
      from = Math.max(from, entry.at);
      state = entry.to;
    }
    bands.push([from, now, mode]);
    for (const [begin, end, band] of bands) {
      const left = x(begin);
      const width = Math.max(1, x(end) - left);
      chart.append(svg('rect', { class: `band ${band}`, x: left, y: 0, width, height: HEIGHT }));
    }
    for (const own of entries.filter((e) => e.scope === 'process' && e.to === 'open')) {
      chart.append(svg('rect', { class: 'own', x: x(own.at), y: 0, width: 2, height: 5 }));
    }
    // Failure rate per minute, every process's calls together: 0% at the bottom, 100% at the top.
    const perMinute = new Map<number, [number, number]>();
    for (const use of usesOf.get(key) ?? []) {
      for (const [minute, calls, failures] of use.minutes) {
        const sum = perMinute.get(minute) ?? [0, 0];
        perMinute.set(minute, [sum[0] + calls, sum[1] + failures]);
      }
    }
    const points: string[] = [];
    let peak = 0;
    for (const [minute, [calls, failures]] of [...perMinute].sort((a, b) => a[0] - b[0])) {
      if (calls === 0 || minute * 60_000 + 60_000 < start) continue;
      const rate = failures / calls;
      peak = Math.max(peak, rate);
      const middle = Math.min(now, minute * 60_000 + 30_000);
      points.push(`${x(middle).toFixed(1)},${(HEIGHT - 2 - rate * (HEIGHT - 4)).toFixed(1)}`);
    }
    const [only] = points;
    if (points.length === 1 && only !== undefined) {
      // One minute measured: a short flat stroke, so that it shows.
      const [px, py] = only.split(',');
      points.push(`${(Number(px) + 3).toFixed(1)},${py ?? '0'}`);
    }
    if (points.length > 0)
      chart.append(svg('polyline', { class: 'spark', points: points.join(' ') }));
    const title = svg('title', {});
    const changes = fleet.length === 0 ? 'no change' : `${fleet.length} changes`;
    title.textContent =
      `Last hour: ${changes}; failure rate per minute ` +
      (points.length === 0
        ? 'not measured (no calls reported)'
        : `up to ${Math.round(peak * 100)}%`);
    chart.append(title);
    chart.dataset.points = String(points.length);
    chart.dataset.bands = bands.map((b) => b[2]).join(' ');
    return chart;
  }

  function reasonText(key: string): string {
    const last = entriesOf.get(key)?.at(-1);
    if (last === undefined) return '';
    const why = last.command === null ? last.reason : `${last.reason}: ${last.command}`;
    const own = last.scope === 'process' ? ' (own)' : '';
    return `${last.from} → ${last.to}${own}: ${why} · ${last.by}`;
  }

  function processText(key: string): string {
    const uses = usesOf.get(key) ?? [];
    if (uses.length === 0) return '';
    const parts = [`${uses.length} process${uses.length === 1 ? '' : 'es'}`];
    const own = uses.filter((u) => u.scope === 'process' && u.mode !== 'closed').length;
    if (own > 0) parts.push(`${own} open for itself`);
    const silent = uses.filter((u) => u.redis === 'silent').length;
    if (silent > 0) parts.push(`${silent} silent`);
    return parts.join(' · ');
  }

  function processTitle(key: string): string {
    return (usesOf.get(key) ?? [])
      .map(
        (u) =>
          `${u.pid} on ${u.host}: ${u.mode}${u.scope === 'process' ? ' (own)' : ''}, ` +
          `${u.calls} calls, ${u.failures} failed, ${u.refusals} refused` +
          (u.redis === 'silent' ? ', silent (lost Redis?)' : ''),
      )
      .join('\n');
  }

  function render(): void {
    const current = doc;
    if (current === null) return;
    const now = current.now + (performance.now() - receivedAt);
    const minute = Math.floor(now / 10_000);
    for (const row of document.querySelectorAll<HTMLTableRowElement>('#rows tr[data-key]')) {
      const key = row.dataset.key ?? '';
      const mode = /mode-(\S+)/.exec(row.className)?.[1] ?? 'closed';
      let cell = row.querySelector<HTMLTableCellElement>('td.history');
      if (cell === null) {
        cell = document.createElement('td');
        cell.className = 'history';
        row.insertBefore(cell, row.querySelector('td.actions'));
      }
      // Redrawn when what it shows changed (or every ten seconds, as the hour moves on).
      const signature = `${current.now} ${mode} ${minute}`;
      if (cell.dataset.shown === signature) continue;
      cell.dataset.shown = signature;
      const reason = document.createElement('div');
      reason.className = 'reason';
      reason.textContent = reasonText(key);
      // The column is narrower than a long reason: it ends in an ellipsis, the title shows it.
      reason.title = reason.textContent;
      const processes = document.createElement('div');
      processes.className = 'processes';
      processes.textContent = processText(key);
      processes.title = processTitle(key);
      cell.replaceChildren(drawTimeline(key, mode, now, current.window), reason, processes);
    }
  }

  async function poll(): Promise<void> {
    try {
      const response = await fetch('/api/insight', { headers: { Accept: 'application/json' } });
      if (response.ok) {
        doc = (await response.json()) as Doc;
        receivedAt = performance.now();
        group(doc);
      }
    } catch {
      // The live column keeps its last picture; the next poll tries again.
    }
    render();
  }

  void poll();
  setInterval(() => void poll(), POLL);
  // A row that comes into the table (a circuit that appears, a row scrolled into view) gets its
  // cell without waiting for the next poll, before the frame that shows it: the table holds only
  // the rows in view, so this draws a screenful of charts at most.
  new MutationObserver(render).observe(document.getElementById('rows') ?? document.body, {
    childList: true,
  });
}

/** The column's style, added to the page's. */
export const INSIGHT_STYLE = `
svg.timeline { display: block; border-radius: 3px; background: var(--line); }
svg.timeline .band.closed { fill: var(--closed); opacity: .35; }
svg.timeline .band.open { fill: var(--open); }
svg.timeline .band.half-open { fill: var(--half); }
svg.timeline .band.forced-open { fill: var(--forced); }
svg.timeline .band.disabled { fill: var(--disabled); }
svg.timeline .own { fill: var(--fg); }
svg.timeline .spark { fill: none; stroke: var(--fg); stroke-width: 1.5; }
td.history .reason, td.history .processes { color: var(--muted); font-size: .78rem; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }
`;
