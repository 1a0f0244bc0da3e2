import { insightClient, INSIGHT_STYLE } from './timeline.js';
import { dashboardClient } from './client.js';
import { pageTexts } from './page-texts.js';
import { sharedStream } from './shared-stream.js';

/**
 * The height of a circuit's row, in CSS pixels. Every row has it (nothing in a row wraps past it),
 * so that the page can draw only the rows in view and stand in for the others with spacers of
 * their height (see client.ts); the page script reads it from the table's `data-row-height`.
 */
const ROW_HEIGHT = 72;

const STYLE = `
:root { color-scheme: light dark; --bg: #fff; --fg: #1f2328; --muted: #656d76; --line: #d0d7de;
  --closed: #1a7f37; --open: #cf222e; --half: #9a6700; --forced: #82071e; --disabled: #6e7781; }
@media (prefers-color-scheme: dark) { :root { --bg: #0d1117; --fg: #e6edf3; --muted: #8d96a0;
  --line: #30363d; --closed: #2ea043; --open: #f85149; --half: #d29922; --forced: #ff7b72; } }
* { box-sizing: border-box; }
body { margin: 0; padding: 1.25rem 1.5rem; background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem 1.25rem; margin-bottom: .75rem; }
h1 { font-size: 1.15rem; margin: 0; }
.prefix, #summary { color: var(--muted); }
.live { font-weight: 600; }
.live::before { content: "● "; }
.live.up { color: var(--closed); }
.live.down { color: var(--open); }
.tools { display: flex; flex-wrap: wrap; gap: .75rem; align-items: center; margin-bottom: .75rem; }
input { font: inherit; padding: .3rem .5rem; border: 1px solid var(--line); border-radius: 6px;
  background: var(--bg); color: var(--fg); }
#filter { min-width: 18rem; }
.notice { padding: .4rem .7rem; border-radius: 6px; border: 1px solid var(--line); }
.notice.error { border-color: var(--open); color: var(--open); }
table { border-collapse: collapse; width: 100%; min-width: 60rem; table-layout: fixed; }
col.state { width: 8.5rem; } col.rate { width: 6rem; } col.retry { width: 7rem; }
col.changed { width: 6rem; } col.history { width: 30%; } col.actions { width: 14rem; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); overflow: hidden; }
th { color: var(--muted); font-weight: 600; font-size: .85rem; position: sticky; top: 0; z-index: 1;
  background: var(--bg); border-bottom: 0; box-shadow: inset 0 -1px var(--line); }
#rows tr { height: ${ROW_HEIGHT}px; }
#rows td { padding-top: .3rem; padding-bottom: .3rem; }
tbody.spacer td { padding: 0; border: 0; }
td.key div { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; word-break: break-all;
  display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 3; overflow: hidden; }
td.rate, td.retry, td.changed { white-space: nowrap; text-overflow: ellipsis;
  font-variant-numeric: tabular-nums; }
tr.mode-open td.key div, tr.mode-forced-open td.key div { font-weight: 600; }
.badge { display: inline-block; min-width: 6.5rem; max-width: 100%; max-height: 3.2em; overflow: hidden;
  text-align: center; padding: .1rem .55rem; border-radius: 999px; color: #fff; font-weight: 600;
  font-size: .85rem; }
.badge.closed { background: var(--closed); }
.badge.open { background: var(--open); }
.badge.half-open { background: var(--half); }
.badge.forced-open { background: var(--forced); outline: 2px dashed var(--open); outline-offset: 1px; }
.badge.disabled { background: var(--disabled); }
button { font: inherit; font-size: .85rem; padding: .1rem .55rem; margin: .1rem .3rem .1rem 0; cursor: pointer;
  border: 1px solid var(--line); border-radius: 6px; background: transparent; color: var(--fg); }
button:hover:not(:disabled) { border-color: var(--fg); }
button:disabled { opacity: .4; cursor: default; }
button.force-open { color: var(--open); }
button.close { color: var(--closed); }
button.disable { color: var(--disabled); }
button.shadow { color: var(--half); }
body.stale table { opacity: .55; }
#empty { color: var(--muted); padding: 1rem .6rem; }
footer { margin-top: 1rem; color: var(--muted); font-size: .8rem; }
`;

/**
 * The page's script: the client, given the shared stream and the page's wording. Under tsx (esbuild with keepNames) the
 * source text of a function calls esbuild's `__name` helper, which does not exist in the page: a
 * stand-in that does what it does (return the function) comes first.
 */
const SCRIPT = `var __name = (target) => target;
(${dashboardClient.toString()})(${sharedStream.toString()}, (${pageTexts.toString()})());
(${insightClient.toString()})();`;

/**
 * The whole dashboard page: markup, style and script inline, nothing loaded from anywhere else.
 * `nonce` authorises the inline style and script under the page's Content-Security-Policy.
 */
export function renderPage(options: { nonce: string; prefix: string }): string {
  const prefix = escapeHtml(options.prefix);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>infuse-breaker · ${prefix}</title>
<style nonce="${options.nonce}">${STYLE}${INSIGHT_STYLE}</style>
</head>
<body>
<header>
  <h1>infuse-breaker fleet</h1>
  <span class="prefix">prefix <code>${prefix}</code></span>
  <span id="live" class="live down">connecting…</span>
  <span id="summary"></span>
</header>
<div class="tools">
  <input id="filter" type="search" placeholder="Filter circuits" aria-label="Filter circuits">
  <form id="token-form" hidden>
    <input id="token-input" type="password" autocomplete="off" placeholder="Token to steer circuits" aria-label="Token">
    <button type="submit">Use token</button>
  </form>
  <div id="notice" class="notice" role="status" hidden></div>
</div>
<table id="circuits" aria-rowcount="1" data-row-height="${ROW_HEIGHT}">
  <colgroup><col class="key"><col class="state"><col class="rate"><col class="retry"><col class="changed"><col class="history"><col class="actions"></colgroup>
  <thead><tr aria-rowindex="1"><th>Circuit</th><th>State</th><th title="failures / calls in the fleet's failure-rate window">Failure rate</th><th>Retry in</th><th>Last change</th><th title="the fleet's states (bands), failure rate per minute (line), the last change and the processes that use the circuit">Last hour</th><th>Steer (whole fleet)</th></tr></thead>
  <tbody id="before" class="spacer" aria-hidden="true"><tr><td colspan="7"></td></tr></tbody>
  <tbody id="rows"></tbody>
  <tbody id="after" class="spacer" aria-hidden="true"><tr><td colspan="7"></td></tr></tbody>
</table>
<div id="empty">Loading…</div>
<footer>Live from Redis. Open: force open until cleared. Close: close now, counters reset. Disable: let every call through, uncounted, until cleared. Clear: end a forced mode.</footer>
<script nonce="${options.nonce}">${SCRIPT}</script>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
